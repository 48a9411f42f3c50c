"""The outreach engine: config, storage, import, templates, pacing, sending, inbox, scheduling.

This package never imports ``bot``; it reports to the operator through ``engine.notify``.
"""
