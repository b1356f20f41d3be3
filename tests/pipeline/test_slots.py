"""The worker's LLM call slots: never more calls than slots, and who gets a slot that frees.

Each call runs in its own thread, as in the worker; a test waits for what a thread reports (it
got a slot, it is waiting) and never for a length of time.
"""

from __future__ import annotations

import threading

import pytest

from editorial_assistant.pipeline.slots import CallSlots, Ticket

DEADLINE = 20.0


class GaveUp(Exception):
    """What a waiting call's ``still_wanted`` raises once its job no longer wants it."""


class Call(threading.Thread):
    """One call of one job: takes a slot, reports it, holds it until told to finish."""

    def __init__(
        self, slots: CallSlots, ticket: Ticket, entered: list[int], priority: int = 0
    ) -> None:
        super().__init__(daemon=True)
        self.slots, self.ticket, self.entered, self.priority = slots, ticket, entered, priority
        self.waiting, self.inside, self.finish = (
            threading.Event(),
            threading.Event(),
            threading.Event(),
        )
        self.unwanted, self.error = threading.Event(), None

    def run(self) -> None:
        try:
            with self.slots.held(
                self.ticket,
                priority=self.priority,
                waiting=self.waiting.set,
                still_wanted=self._still_wanted,
            ):
                self.entered.append(self.ticket.job_id)
                self.inside.set()
                assert self.finish.wait(DEADLINE)
        except GaveUp as exc:
            self.error = exc

    def _still_wanted(self) -> None:
        if self.unwanted.is_set():
            raise GaveUp()

    def started(self) -> Call:
        """Start, and return once the call holds a slot or waits for one."""
        self.start()
        for _ in range(int(DEADLINE * 100)):
            if self.inside.is_set() or self.waiting.is_set():
                return self
            self.inside.wait(0.01)
        raise AssertionError(f"job {self.ticket.job_id}'s call neither ran nor waited")

    def done(self) -> None:
        """Let the call finish and wait for its thread."""
        self.finish.set()
        self.join(DEADLINE)
        assert not self.is_alive()


@pytest.fixture
def entered() -> list[int]:
    return []


def call(
    slots: CallSlots, entered: list[int], job_id: int, calls_left: int, priority: int = 0
) -> Call:
    ticket = slots.join(job_id, priority=priority, calls_left=calls_left)
    return Call(slots, ticket, entered, priority).started()


def test_it_never_lets_more_calls_in_than_it_has_slots(entered: list[int]) -> None:
    slots = CallSlots(2, recheck_seconds=0.01, keep_seconds=0)
    calls = [call(slots, entered, job_id, 4) for job_id in range(1, 6)]
    assert [c.inside.is_set() for c in calls] == [True, True, False, False, False]
    assert all(c.waiting.is_set() for c in calls[2:])
    calls[0].done()
    assert calls[2].inside.wait(DEADLINE)
    assert slots.in_flight() == 2 and not calls[3].inside.is_set()
    for c in calls[1:]:
        c.done()
    assert sorted(entered) == [1, 2, 3, 4, 5]
    for c in calls:  # their runs end: slots kept for a next call come back
        slots.leave(c.ticket)
    assert slots.in_flight() == 0


def test_a_higher_priority_call_gets_the_next_slot_before_older_ones(entered: list[int]) -> None:
    slots = CallSlots(1)
    holder = call(slots, entered, 1, 1)
    older = call(slots, entered, 2, 4)
    urgent = call(slots, entered, 3, 4, priority=5)
    holder.done()
    assert urgent.inside.wait(DEADLINE) and not older.inside.is_set()
    urgent.done()
    assert older.inside.wait(DEADLINE)
    older.done()
    assert entered == [1, 3, 2]


def test_within_a_priority_the_job_the_queue_gave_out_first_goes_first(entered: list[int]) -> None:
    slots = CallSlots(1)
    holder = call(slots, entered, 1, 1)
    first = slots.join(2, priority=0, calls_left=4)
    second = slots.join(3, priority=0, calls_left=4)
    later = Call(slots, second, entered).started()  # asks first, but its job came second
    earlier = Call(slots, first, entered).started()
    holder.done()
    assert earlier.inside.wait(DEADLINE) and not later.inside.is_set()
    earlier.done()
    later.done()
    assert entered == [1, 2, 3]


def test_a_job_whose_calls_would_outlast_the_rest_goes_ahead(entered: list[int]) -> None:
    slots = CallSlots(1)
    holder = call(slots, entered, 1, 1)
    short = call(slots, entered, 2, 1)
    # Seven calls left in all for one slot: the 5-call job is the critical chain.
    long = call(slots, entered, 3, 5)
    holder.done()
    assert long.inside.wait(DEADLINE) and not short.inside.is_set()
    long.done()
    short.done()
    assert entered == [1, 3, 2]


def test_a_job_keeps_its_slot_for_its_next_call_unless_a_better_call_waits(
    entered: list[int],
) -> None:
    slots = CallSlots(1, keep_seconds=DEADLINE)
    oldest = slots.join(1, priority=0, calls_left=2)
    Call(slots, oldest, entered).started().done()
    younger = call(slots, entered, 2, 4)
    assert younger.waiting.is_set()
    second = Call(slots, oldest, entered).started()
    assert second.inside.is_set() and not second.waiting.is_set()
    second.done()
    slots.leave(oldest)
    assert younger.inside.wait(DEADLINE)
    younger.done()
    assert entered == [1, 1, 2]


def test_a_kept_slot_goes_to_a_higher_priority_call(entered: list[int]) -> None:
    slots = CallSlots(1, keep_seconds=DEADLINE)
    job = slots.join(1, priority=0, calls_left=2)
    first = Call(slots, job, entered).started()
    urgent = call(slots, entered, 2, 4, priority=5)
    first.done()
    assert urgent.inside.wait(DEADLINE)
    urgent.done()
    assert entered == [1, 2]


def test_a_waiting_call_its_job_no_longer_wants_gives_up_its_turn(entered: list[int]) -> None:
    ticks: list[int] = []
    slots = CallSlots(1, recheck_seconds=0.01, tick=lambda: ticks.append(1))
    holder = call(slots, entered, 1, 1)
    paused = call(slots, entered, 2, 4)
    behind = call(slots, entered, 3, 4)
    paused.unwanted.set()
    paused.join(DEADLINE)
    assert isinstance(paused.error, GaveUp) and ticks
    holder.done()
    assert behind.inside.wait(DEADLINE)
    behind.done()
    assert entered == [1, 3]
    slots.leave(behind.ticket)
    assert slots.in_flight() == 0
