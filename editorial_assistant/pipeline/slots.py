"""LLM call slots: how many calls a worker process has in flight, and which waiting call goes next.

The worker keeps more jobs in progress than it has slots (``worker.concurrency``), so when a
call ends there is usually another job's call waiting, and the slot can go to whichever is best
for the batch. Calls are ranked:

1. the higher job priority, always (an editor who raises a job's priority gets it first);
2. within a priority, a *critical* job: one whose calls left are about as many as the rounds
   the jobs of that priority still need with every slot busy (their calls left ÷ slots). Its
   chain of calls, one after another, would otherwise outlast everything else and leave slots
   idle at the end. Among critical jobs, the most calls left first (Hu's rule for chains);
3. otherwise the job the queue handed out first, so early jobs finish early.

A call that ends keeps its slot for its job's next call (for up to ``keep_seconds``, the job's
work between two calls) unless a waiting call ranks higher; otherwise the oldest job would lose
its slot to a younger one at every call and a batch's first jobs would finish late.

Counting calls assumes they take about as long as each other, which holds well enough for the
pipeline's phases. A call that must wait is told so (``waiting``), checks at least every
``recheck_seconds`` whether its job still wants it (``still_wanted`` raises to give up), and
the worker's ``tick`` runs in the waiting thread meanwhile (it feeds the watchdog).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# Calls of slack before a job counts as critical: with none, a call that runs a little long
# makes the batch a round late; with many, every job is critical and early jobs finish late.
CRITICAL_MARGIN = 2.0

Rank = tuple[int, bool, int, int]


@dataclass(eq=False)
class Ticket:
    """One job in progress, as the slots see it."""

    job_id: int
    priority: int
    calls_left: int
    order: int
    granted: bool = False
    kept_until: float | None = None  # holds a slot for its next call until then


class CallSlots:
    """At most ``size`` LLM calls at once; a freed slot goes to the best-ranked waiting call."""

    def __init__(
        self,
        size: int,
        *,
        tick: Callable[[], None] | None = None,
        recheck_seconds: float = 1.0,
        keep_seconds: float = 0.5,
        margin: float = CRITICAL_MARGIN,
    ) -> None:
        self.size, self.tick, self.margin = size, tick, margin
        self.recheck_seconds, self.keep_seconds = recheck_seconds, keep_seconds
        self._changed = threading.Condition()
        self._jobs: set[Ticket] = set()
        self._waiting: list[Ticket] = []
        self._busy = 0
        self._order = itertools.count()

    def join(self, job_id: int, *, priority: int, calls_left: int) -> Ticket:
        """Count a job in progress (in the order the queue handed jobs out)."""
        with self._changed:
            ticket = Ticket(job_id, priority, calls_left, next(self._order))
            self._jobs.add(ticket)
            return ticket

    def leave(self, ticket: Ticket) -> None:
        """The job's run ended: it gives back a kept slot and no longer counts."""
        with self._changed:
            self._jobs.discard(ticket)
            self._unkeep(ticket)
            self._hand_on()

    def in_flight(self) -> int:
        """Slots taken now (calls in flight and slots kept for a job's next call)."""
        with self._changed:
            return self._busy

    @contextmanager
    def held(
        self,
        ticket: Ticket,
        *,
        priority: int,
        waiting: Callable[[], None],
        still_wanted: Callable[[], None],
    ) -> Iterator[float]:
        """Hold a slot for one call; yields the seconds spent waiting for it (0 if none)."""
        started = time.monotonic()
        if not self._take_or_queue(ticket, priority):
            try:
                waiting()
                while not self._wait(ticket):
                    if self.tick is not None:
                        self.tick()
                    still_wanted()
            except BaseException:
                self._withdraw(ticket)
                raise
        try:
            yield time.monotonic() - started if ticket.granted else 0.0
        finally:
            self._release(ticket)

    def _take_or_queue(self, ticket: Ticket, priority: int) -> bool:
        with self._changed:
            ticket.priority, ticket.granted = priority, False
            ticket.calls_left = max(ticket.calls_left, 1)  # a retry the plan did not count
            if ticket.kept_until is not None:
                ticket.kept_until = None
                return True
            self._expire_kept()
            if self._busy < self.size and not self._waiting:
                self._busy += 1
                return True
            self._waiting.append(ticket)
            self._hand_on()
            return False

    def _wait(self, ticket: Ticket) -> bool:
        with self._changed:
            if not ticket.granted:
                self._changed.wait(self._wait_seconds())
                self._expire_kept()
            return ticket.granted

    def _wait_seconds(self) -> float:
        ends = [t.kept_until for t in self._jobs if t.kept_until is not None]
        return max(min([self.recheck_seconds, *(end - time.monotonic() for end in ends)]), 0.001)

    def _expire_kept(self) -> None:
        now = time.monotonic()
        lapsed = [t for t in self._jobs if t.kept_until is not None and t.kept_until <= now]
        for ticket in lapsed:
            self._unkeep(ticket)
        if lapsed:
            self._hand_on()

    def _withdraw(self, ticket: Ticket) -> None:
        with self._changed:
            if ticket in self._waiting:
                self._waiting.remove(ticket)
            elif ticket.granted:
                self._busy -= 1
                ticket.granted = False
            self._hand_on()

    def _release(self, ticket: Ticket) -> None:
        with self._changed:
            ticket.calls_left = max(ticket.calls_left - 1, 0)
            rank = self._rank()
            if ticket.calls_left and all(rank(ticket) < rank(other) for other in self._waiting):
                ticket.kept_until = time.monotonic() + self.keep_seconds
                self._changed.notify_all()  # waiters wake by the time it lapses
                return
            self._busy -= 1
            self._hand_on()

    def _unkeep(self, ticket: Ticket) -> None:
        if ticket.kept_until is not None:
            ticket.kept_until = None
            self._busy -= 1

    def _hand_on(self) -> None:
        """Give free slots to the best-ranked waiting calls (holding the lock)."""
        granted = False
        while self._busy < self.size and self._waiting:
            best = min(self._waiting, key=self._rank())
            self._waiting.remove(best)
            best.granted = granted = True
            self._busy += 1
        if granted:  # only then: each woken waiter looks again, and must not wake the others
            self._changed.notify_all()

    def _rank(self) -> Callable[[Ticket], Rank]:
        left: dict[int, int] = {}
        for job in self._jobs:
            left[job.priority] = left.get(job.priority, 0) + job.calls_left

        def rank(ticket: Ticket) -> Rank:
            rounds = left.get(ticket.priority, ticket.calls_left) / self.size
            critical = ticket.calls_left + self.margin >= rounds
            most_left = -ticket.calls_left if critical else 0
            return (-ticket.priority, not critical, most_left, ticket.order)

        return rank
