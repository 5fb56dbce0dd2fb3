"""benchmarks/_timing.py: the one timing helper every stage benchmark prints its medians with."""

from __future__ import annotations

import time

from benchmarks._timing import timed


def test_timed_runs_warmups_untimed_then_reports_per_item_medians_and_the_last_result():
    calls, syncs = [], []

    def fn() -> int:
        calls.append(len(calls))
        time.sleep(0.02 if len(calls) > 1 else 0.3)  # the warm-up is slow; it must not count
        return len(calls)

    t = timed(fn, 3, per=2, warmup=1, sync=lambda: syncs.append(1))
    assert calls == [0, 1, 2, 3] and t.result == 4
    assert len(syncs) == 1 + 3  # after the warm-up, then after each timed call
    assert 0.01 <= t.wall < 0.15  # 20 ms per call over 2 items; the 300 ms warm-up left out
    assert t.cpu < t.wall  # sleeping costs no CPU


def test_timed_counts_cpu_seconds_of_the_work():
    t = timed(lambda: sum(i * i for i in range(300_000)), 1, children=False)
    assert 0 < t.cpu <= t.wall + 0.02  # one thread: busy, but never more CPU than wall time
