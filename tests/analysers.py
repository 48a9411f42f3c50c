"""Entries for the classifier's child process in tests (``Analyser(entry=...)``).

``hang`` behaves like the real analyser except on a message carrying ``X-Test-Hang: yes``, where
it spins forever holding the GIL, as a catastrophic regex would. ``modules`` reports what the
child has imported (in the analysis' text), to check that its imports stay light.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from engine.inbox.budget import Analysis, analyse


def hang(raw: bytes) -> Analysis:
    if b"\nX-Test-Hang: yes" in raw[:4096]:
        while True:
            pass
    return analyse(raw)


def modules(raw: bytes) -> Analysis:
    result = analyse(raw)
    return replace(result, inbound=replace(result.inbound, text=" ".join(sorted(sys.modules))))
