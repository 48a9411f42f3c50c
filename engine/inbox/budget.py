"""A hard time budget per inbound message: parse and classify in a child process.

Python cannot interrupt a regex or the email parser while it holds the GIL, and the standard
library's parser has super-linear paths of its own, so a thread with a timeout is no budget.
Each message is analysed in a long-lived child process instead (started lazily, reused across
messages); the parent waits at most ``budget`` seconds for the answer. A child that does not
answer in time is killed and replaced on the next message, and the message is reported
:class:`Unclassifiable` so the caller records it and moves the mark past it.

The child is ``python -m engine.inbox.budget``: started with fork+exec by ``subprocess`` (never
a bare fork of the threaded parent), it imports only the classification modules (no
SQLAlchemy, no Telegram), and it exits by itself when the parent goes away (end of its stdin).
``multiprocessing``'s spawn context would re-import the parent's ``__main__`` (``bot.__main__``
and with it the whole bot) into the child, which is why it is not used here.

Frames on the pipes: 4-byte big-endian length, then the payload (raw message bytes to the
child; a pickled :class:`Analysis` back, which only our own child ever writes).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from engine.errors import ClassifierUnavailable

if TYPE_CHECKING:
    from engine.inbox.classify import Classification, Inbound

DEFAULT_BUDGET_SECONDS = 5.0
START_TIMEOUT_SECONDS = 60.0  # the child's imports; not part of any message's budget
ENTRY = "engine.inbox.budget:analyse"
_ROOT = str(Path(__file__).resolve().parents[2])
_READY = b"R"


@dataclass(frozen=True)
class Analysis:
    """What crosses the process boundary: picklable dataclasses only."""

    inbound: Inbound
    classification: Classification


class Unclassifiable(Exception):
    """The message could not be analysed within the budget (or the analyser died on it)."""


def analyse(raw: bytes) -> Analysis:
    """The work done in the child for one message."""
    from engine.inbox.classify import classify, parse_inbound

    inb = parse_inbound(raw)
    cls = classify(raw, inb)
    return Analysis(replace(inb, headers=dict(inb.headers)), cls)


class Analyser:
    """One child process, reused across messages; thread-safe (one message at a time)."""

    def __init__(self, entry: str = ENTRY) -> None:
        self.entry = entry
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.started = 0  # children started so far (a killed one is replaced)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def analyse(self, raw: bytes, budget: float = DEFAULT_BUDGET_SECONDS) -> Analysis:
        """Parse and classify ``raw`` in the child within ``budget`` seconds. Raises
        :class:`Unclassifiable` when this message is the problem, ``ClassifierUnavailable`` (a
        ``TryLater``) when no child can be started (then nothing is recorded and the mark
        stays)."""
        with self._lock:
            proc = self._ensure()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(struct.pack(">I", len(raw)) + raw)
                proc.stdin.flush()
                deadline = time.monotonic() + budget
                size = struct.unpack(">I", _read(proc.stdout, 4, deadline))[0]
                data = _read(proc.stdout, size, deadline)
            except TimeoutError:
                self._kill()
                raise Unclassifiable(f"could not be classified within {budget:g} s") from None
            except (OSError, EOFError, struct.error):
                self._kill()
                raise Unclassifiable("could not be classified (the classifier stopped)") from None
            result = pickle.loads(data)  # noqa: S301 - written by our own child only
            if not isinstance(result, Analysis):
                raise Unclassifiable(f"could not be classified ({result})")
            return result

    def close(self) -> None:
        """Stop the child (end of its input, then kill if it does not exit at once)."""
        with self._lock:
            self._kill()

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._kill()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH", "")) if p)
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.inbox.budget", self.entry],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=_ROOT,
            close_fds=True,
        )
        self._proc = proc
        self.started += 1
        assert proc.stdout is not None
        try:
            if _read(proc.stdout, 1, time.monotonic() + START_TIMEOUT_SECONDS) != _READY:
                raise EOFError
        except (TimeoutError, OSError, EOFError):
            self._kill()
            # Not this message's fault: the check fails and is retried (no message is skipped).
            raise ClassifierUnavailable(
                "the classifier process did not start; retrying next check"
            ) from None
        return proc

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(Exception):
            proc.wait(5)
        if proc.stdout is not None:
            with contextlib.suppress(OSError):
                proc.stdout.close()


def _read(stream: IO[bytes], n: int, deadline: float) -> bytes:
    """Exactly ``n`` bytes from a pipe before ``deadline`` (TimeoutError), EOFError at its end."""
    fd = stream.fileno()
    chunks: list[bytes] = []
    got = 0
    while got < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            raise TimeoutError
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


_shared: Analyser | None = None
_shared_lock = threading.Lock()


def shared() -> Analyser:
    """The process's analyser (one child for the whole process), stopped at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Analyser()
            atexit.register(shutdown)
        return _shared


def shutdown() -> None:
    """Stop the shared analyser's child, if any (engine shutdown, process exit)."""
    global _shared
    with _shared_lock:
        analyser, _shared = _shared, None
    if analyser is not None:
        analyser.close()


def _serve(entry: str) -> int:
    """The child's loop: a frame in, a frame out, until the parent closes our input."""
    module, _, name = entry.partition(":")
    work: Any = getattr(importlib.import_module(module), name)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(_READY)
    stdout.flush()
    while True:
        head = stdin.read(4)
        if len(head) < 4:
            return 0
        raw = stdin.read(struct.unpack(">I", head)[0])
        try:
            result: object = work(raw)
        except Exception as e:  # noqa: BLE001 - reported to the parent as unclassifiable
            result = f"{type(e).__name__} in the classifier"
        data = pickle.dumps(result)
        stdout.write(struct.pack(">I", len(data)) + data)
        stdout.flush()


if __name__ == "__main__":
    sys.exit(_serve(sys.argv[1] if len(sys.argv) > 1 else ENTRY))
