"""Process lifetime of a worker: it exits by itself when the supervisor that started it is gone.

``newsflow up`` starts each worker in its own session (Ctrl-C in the terminal reaches only the supervisor, which
drains and stops them in order). The price: when the supervisor dies without stopping them (SIGKILL, OOM, a
crash) nothing else would, and the orphans would keep retrying against servers that are gone. The supervisor
passes its pid (``NEWSFLOW_SUPERVISOR__PID``); a daemon thread checks it every ``poll_s`` and, once it is gone,
asks the worker to stop (SIGTERM, the same graceful path as an operator's), then exits hard after ``grace_s``
should that stop hang on servers that went away with the supervisor.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

log = logging.getLogger(__name__)


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a zombie counts as gone: it has exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True  # no /proc (not Linux): kill(0) is all we know


def supervisor_gone(pid: int, parent_at_start: int) -> bool:
    """True once the supervisor ``pid`` has exited. When it is our parent, re-parenting (to init or a
    subreaper) says so without any race on pid reuse; otherwise fall back to probing the pid."""
    if parent_at_start == pid:
        return os.getppid() != pid
    return not alive(pid)


def exit_with_supervisor(
    pid: int | None, poll_s: float = 1.0, grace_s: float = 10.0
) -> threading.Thread | None:
    """Start watching the supervisor ``pid`` (``None``: started by hand, nothing to watch)."""
    if not pid:
        return None
    parent = os.getppid()
    if supervisor_gone(pid, parent):
        log.warning("supervisor already gone pid=%s; exiting", pid)
        os._exit(70)

    def watch() -> None:
        while not supervisor_gone(pid, parent):
            time.sleep(poll_s)
        log.warning("supervisor gone pid=%s; stopping (hard exit in %.0f s)", pid, grace_s)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace_s)
        log.error("graceful stop did not finish in %.0f s after the supervisor went away; exiting", grace_s)
        os._exit(70)

    t = threading.Thread(target=watch, name="supervisor-watch", daemon=True)
    t.start()
    return t
