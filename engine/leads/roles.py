"""Role addresses: mailboxes of a function (``info@``, ``sales@``, ``noreply@``), not of a
person. They are imported, but the import report warns about them: nobody in particular reads
them, several people may, and complaints from shared inboxes hurt a sender more than silence.

The list is shipped here and compared without case, without a ``+tag`` and without the
separators people put in these names (``no-reply``, ``no_reply`` and ``no.reply`` are one).
"""

from __future__ import annotations

__all__ = ["ROLE_NAMES", "is_role_address"]

#: Local parts of role addresses, written without separators.
ROLE_NAMES = frozenset(
    {
        # Reaching the company
        "info", "information", "contact", "contactus", "hello", "hi", "office", "mail", "email",
        "enquiries", "enquiry", "inquiries", "inquiry", "general", "reception", "team",
        "all", "everyone", "staff", "company",
        # Selling and buying
        "sales", "sale", "marketing", "business", "bizdev", "partners", "partnerships",
        "orders", "order", "shop", "store", "purchasing", "procurement",
        # Helping
        "support", "help", "helpdesk", "service", "customerservice", "customercare", "care",
        "feedback", "success", "customersuccess",
        # Money and papers
        "billing", "accounts", "accounting", "finance", "invoice", "invoices", "payments",
        "legal", "compliance", "privacy", "gdpr", "dpo",
        # People
        "hr", "jobs", "careers", "career", "recruiting", "recruitment", "talent", "hiring",
        # Press
        "press", "media", "pr", "news", "newsletter", "events",
        # Machines and their keepers
        "admin", "administrator", "root", "sysadmin", "it", "tech", "webmaster", "hostmaster",
        "postmaster", "abuse", "security", "noc", "dns", "ftp", "www", "mailerdaemon",
        "noreply", "donotreply", "notifications", "notification", "alerts", "bounce",
        "bounces", "subscribe", "unsubscribe", "list", "lists",
        # The same in the other languages the bot's users write in
        "kontakt", "contacto", "contato", "contatto", "buero", "bureau", "vertrieb",
        "verkauf", "ventas", "vendas", "vendite", "ventes", "commercial", "kundenservice",
        "soporte", "suporte", "assistenza", "rh", "rrhh", "karriere", "bewerbung", "empleo",
        "emploi", "lavoro", "buchhaltung", "rechnung", "facturacion", "comptabilite",
        "datenschutz", "presse", "prensa", "imprensa", "stampa",
    }
)  # fmt: skip

_SEPARATORS = str.maketrans("", "", ".-_")


def is_role_address(email: str) -> bool:
    """True when ``email``'s local part names a function, not a person."""
    local = email[: email.rfind("@")] if "@" in email else email
    local = local.partition("+")[0].lower().translate(_SEPARATORS)
    return local in ROLE_NAMES
