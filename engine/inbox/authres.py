"""The receiving server's verdict on a message's sender: ``Authentication-Results`` (RFC 8601).

Only the TOPMOST header counts (the receiving server prepends its own and, by RFC 8601 §5,
removes forged copies carrying its authserv-id); anything further down may have been written
by the sender and is ignored. With an ``AUTHSERV_ID`` configured, the topmost header with that
authserv-id is the one trusted, and none if there is none.

The sender is *unverified* when that header says ``dmarc=fail``, or ``spf=fail`` and
``dkim=fail`` together for the From domain (DKIM results whose ``header.d``/``header.i`` domain
is the From domain, its parent or a subdomain; SPF whose ``smtp.mailfrom`` domain aligns). A
``dkim=pass`` for the From domain prevents the SPF+DKIM failure.

Parsing is tokenising (comments removed by one scan with a depth counter, then splits on ``;``
and whitespace): linear in the header's length, which the caller caps anyway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["AuthResults", "Method", "Verdict", "parse", "verdict"]


@dataclass(frozen=True)
class Method:
    name: str  # "dmarc", "spf", "dkim", ...
    result: str  # "pass", "fail", ...
    props: Mapping[str, str] = field(default_factory=dict)  # "header.d" -> "example.com"


@dataclass(frozen=True)
class AuthResults:
    authserv_id: str
    methods: tuple[Method, ...]


@dataclass(frozen=True)
class Verdict:
    """The trusted header's verdict. ``failed``: do not take the From address on trust."""

    authserv_id: str
    failed: bool
    summary: str  # e.g. "dmarc=fail (mx.example.com)"


def _uncomment(value: str) -> str:
    """``value`` with (nested) comments replaced by a space; quoted strings are kept."""
    out: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for ch in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
            if depth == 0:
                out.append(ch)
            continue
        if quoted:
            if ch == '"':
                quoted = False
            out.append(ch)
            continue
        if ch == "(":
            depth += 1
            if depth == 1:
                out.append(" ")
            continue
        if ch == ")" and depth:
            depth -= 1
            continue
        if depth:
            continue
        if ch == '"':
            quoted = True
        out.append(ch)
    return "".join(out)


def _squeeze(text: str) -> str:
    """Whitespace runs to one space and none around ``=`` and ``.`` (``dkim = pass`` -> ``dkim=pass``)."""
    text = " ".join(text.split())
    for sep in ("=", "."):
        text = text.replace(f" {sep}", sep).replace(f"{sep} ", sep)
    return text


def parse(value: str) -> AuthResults | None:
    """One Authentication-Results value; None when it has no authserv-id."""
    segments = _uncomment(value).split(";")
    head = segments[0].split()
    if not head:
        return None
    methods: list[Method] = []
    for segment in segments[1:]:
        words = _squeeze(segment).split(" ")
        if not words or "=" not in words[0]:
            continue
        name, _, result = words[0].partition("=")
        props: dict[str, str] = {}
        for word in words[1:]:
            key, sep, val = word.partition("=")
            if sep and "." in key:
                props.setdefault(key.lower(), val.strip('"').lower())
        methods.append(Method(name.lower(), result.lower(), props))
    return AuthResults(authserv_id=head[0].lower(), methods=tuple(methods))


def _domain(value: str) -> str:
    return value.rsplit("@", 1)[-1].strip(".<> ").lower()


def _aligned(domain: str, from_domain: str) -> bool:
    if not domain or "." not in domain or "." not in from_domain:
        return False
    return (
        domain == from_domain
        or from_domain.endswith("." + domain)
        or domain.endswith("." + from_domain)
    )


def verdict(values: Sequence[str], from_email: str, authserv_id: str = "") -> Verdict | None:
    """The verdict of the trusted header among ``values`` (topmost first), or None if none."""
    wanted = authserv_id.strip().lower()
    trusted: AuthResults | None = None
    for value in values:
        parsed = parse(value)
        if not wanted:
            trusted = parsed  # the topmost header, whatever it says
            break
        if parsed is not None and parsed.authserv_id == wanted:
            trusted = parsed
            break
    if trusted is None:
        return None
    from_domain = _domain(from_email) if "@" in from_email else ""
    sid = trusted.authserv_id
    if any(m.name == "dmarc" and m.result == "fail" for m in trusted.methods):
        return Verdict(sid, True, f"dmarc=fail ({sid})")
    spf_fail = any(
        m.name == "spf"
        and m.result == "fail"
        and (
            "smtp.mailfrom" not in m.props
            or _aligned(_domain(m.props["smtp.mailfrom"]), from_domain)
        )
        for m in trusted.methods
    )
    dkim = [
        m.result
        for m in trusted.methods
        if m.name == "dkim"
        and any(
            _aligned(_domain(m.props.get(k, "")), from_domain) for k in ("header.d", "header.i")
        )
    ]
    if spf_fail and "fail" in dkim and "pass" not in dkim:
        return Verdict(sid, True, f"spf=fail and dkim=fail for {from_domain} ({sid})")
    summary = " ".join(f"{m.name}={m.result}" for m in trusted.methods) or "no results"
    return Verdict(sid, False, f"{summary} ({sid})")
