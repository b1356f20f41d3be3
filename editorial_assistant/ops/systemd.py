"""Talking to systemd: readiness and watchdog notifications (sd_notify), outside systemd a no-op.

The protocol is one datagram of ``KEY=value`` lines to the socket named by ``$NOTIFY_SOCKET``
(``man sd_notify``). A ``Pinger`` thread sends ``WATCHDOG=1`` only while a health check passes,
so a process that is alive but no longer doing its work stops feeding the watchdog and systemd
restarts it. The check is the caller's: the API asks itself for ``/healthz`` over its own
socket; the worker asks whether every consumer thread is polling or making progress on a job.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def notify(*states: str) -> bool:
    """Send ``states`` (``"READY=1"``, ``"STATUS=…"``) to systemd; False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(states).encode())
    except OSError as exc:
        log.warning("could not notify systemd (%s): %s", address, exc)
        return False
    return True


def watchdog_seconds(pid: int | None = None) -> float | None:
    """The watchdog period systemd expects pings within, when it is meant for this process."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    owner = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if owner.isdigit() and int(owner) != (pid or os.getpid()):
        return None
    return int(usec) / 1_000_000


def ping_interval() -> float:
    """How often to check and ping: a third of the watchdog period, within 0.5–10 s."""
    return min(max((watchdog_seconds() or 6.0) / 3, 0.5), 10.0)


class Pinger:
    """A daemon thread that pings the watchdog while ``check()`` returns None.

    ``check`` returns None when healthy, else the reason, which becomes the unit's STATUS line
    (``systemctl status`` shows it) and is logged once per change. The first healthy check also
    sends ``READY=1`` when ``ready_on_first_pass`` is set, so "started" means "working".
    """

    def __init__(
        self,
        check: Callable[[], str | None],
        *,
        interval: float,
        ready_on_first_pass: bool = False,
        status_ok: str = "serving",
    ) -> None:
        self.check = check
        self.interval = interval
        self.ready_pending = ready_on_first_pass
        self.status_ok = status_ok
        self.stopped = threading.Event()
        self._last: str | None = "starting"
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)

    def start(self) -> Pinger:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()

    def _run(self) -> None:
        while not self.stopped.is_set():
            self.tick()
            # Until READY=1 is out, look again soon: `systemctl start` is waiting for it.
            self.stopped.wait(0.1 if self.ready_pending else self.interval)

    def tick(self) -> None:
        """One health check and, when healthy, one ping."""
        try:
            problem = self.check()
        except Exception as exc:  # the check must never kill the pinger silently
            problem = f"health check raised {type(exc).__name__}: {exc}"
        if problem is None:
            states = ["WATCHDOG=1"]
            if self.ready_pending:
                states.append("READY=1")
                self.ready_pending = False
            if self._last is not None:
                states.append(f"STATUS={self.status_ok}")
                if self._last != "starting":
                    log.warning("healthy again; feeding the watchdog")
            notify(*states)
        elif problem != self._last:
            log.error("not feeding the watchdog: %s", problem)
            notify(f"STATUS=unhealthy: {problem}")
        self._last = problem


def start_pinger(
    check: Callable[[], str | None], *, ready_on_first_pass: bool = False, status_ok: str
) -> Pinger | None:
    """Start a pinger when systemd watches this process (or must be told READY); else None."""
    period = watchdog_seconds()
    if period is None and not (ready_on_first_pass and os.environ.get("NOTIFY_SOCKET")):
        return None
    interval = ping_interval()
    pinger = Pinger(
        check, interval=interval, ready_on_first_pass=ready_on_first_pass, status_ok=status_ok
    )
    return pinger.start()
