"""The read-concurrency tuner on a fake clock: it keeps only the steps that pay."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from storage.sqlite import sizing


class World:
    """Reads and writes per second as a function of reads allowed at once."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, rates: Callable[[int], tuple[float, float]]
    ) -> None:
        self.now = 0.0
        self.writes = 0.0
        self.rates = rates
        monkeypatch.setattr(sizing.time, "monotonic", lambda: self.now)
        self.tuner = sizing.ConcurrencyTuner(1, 8, start=2, writes_done=lambda: int(self.writes))

    def run(self, seconds: float) -> list[int]:
        seen = []
        step = 0.05
        for _ in range(int(seconds / step)):
            reads, writes = self.rates(self.tuner.target)
            self.now += step
            self.writes += writes * step
            self.tuner.note_done(round(reads * step), still_waiting=True)
            seen.append(self.tuner.target)
        return seen


def test_grows_while_reads_get_faster_and_stops_where_they_do_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = World(monkeypatch, lambda n: (1000.0 * min(n, 4), 0.0))
    seen = world.run(20)
    assert max(seen) <= 5
    assert seen[-1] == 4


def test_a_step_that_costs_the_writer_more_than_it_gives_readers_is_undone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One more reader: +10 % reads but -20 % writes (GIL contention).
    world = World(monkeypatch, lambda n: (1000.0 * 1.1 ** (n - 1), 5000.0 * 0.8 ** (n - 1)))
    seen = world.run(30)
    assert seen[-1] == 1
    assert sum(1 for t in seen if t > 2) < len(seen) * 0.1


def test_nothing_changes_without_waiting_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(monkeypatch, lambda n: (1000.0 * n, 0.0))
    for _ in range(100):
        world.now += 0.05
        world.tuner.note_done(50, still_waiting=False)
    assert world.tuner.target == 2
