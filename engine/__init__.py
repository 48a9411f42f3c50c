"""The outreach engine: config, storage, import, templates, pacing, sending, inbox, scheduling.

This package never imports ``bot``; it reports to the operator through ``engine.notify``.
"""

# The release, shown by /system. Kept equal to pyproject.toml's version (a unit test checks):
# the service runs from a checkout, not an installed package, so importlib.metadata has none.
__version__ = "0.1.0"
