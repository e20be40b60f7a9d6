"""Child processes that ignore Ctrl-C from their first instruction.

Ctrl-C reaches the whole process group. A spawned child runs its own code (which ignores SIGINT:
the server decides when its children stop) only after it has started Python and imported its
modules, a second or more on a slow machine; a Ctrl-C in that window printed a
``KeyboardInterrupt`` traceback from the child. A signal ignored stays ignored across fork and
exec, and Python keeps an inherited SIG_IGN, so the server ignores SIGINT while it starts the
child and restores its handler at once (a Ctrl-C in those few milliseconds is lost: the user
presses again). Handlers can be changed in the main thread only, so a child started from another
thread falls back to ignoring SIGINT once its own code runs.

Used by the finalize workers' pool (:mod:`server.workers`) and the VAD child
(:mod:`server.vad_process`); this module imports nothing of the server, so neither child loads
more than it needs.
"""

from __future__ import annotations

import multiprocessing.context
import signal
import threading


class QuietSpawnProcess(multiprocessing.context.SpawnProcess):
    """A spawned process whose child starts with SIGINT ignored (see the module)."""

    def start(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            super().start()  # the child's own SIG_IGN covers it, later
            return
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            super().start()
        finally:
            signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


class QuietSpawnContext(multiprocessing.context.SpawnContext):
    """The ``spawn`` start method with :class:`QuietSpawnProcess`."""

    Process = QuietSpawnProcess
