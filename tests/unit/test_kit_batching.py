"""kit.batching.Coalescer: group commit without timers."""
from __future__ import annotations

import asyncio

import pytest

from kit.batching import Coalescer


async def settle() -> None:
    """Let the event loop run the submitted calls and the batches they start."""
    for _ in range(5):
        await asyncio.sleep(0)


class Recorder:
    """A run_batch that records each batch and holds it until released."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()

    async def __call__(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        await self.release.wait()
        return [ValueError(f"bad {i}") if i < 0 else i * 10 for i in items]


async def test_a_lone_call_runs_at_once_as_a_batch_of_one():
    calls: list[list[int]] = []

    async def run(items):
        calls.append(items)
        return [i + 1 for i in items]

    c = Coalescer(run, max_batch=64, max_in_flight=1)
    assert await asyncio.wait_for(c.submit(41), 1) == 42
    assert calls == [[41]]


async def test_calls_that_arrive_while_the_slot_is_busy_share_the_next_batch():
    rec = Recorder()
    c = Coalescer(rec, max_batch=64, max_in_flight=1)
    first = asyncio.ensure_future(c.submit(1))
    await settle()
    rest = [asyncio.ensure_future(c.submit(i)) for i in range(2, 9)]
    await settle()
    assert rec.batches == [[1]]  # the others wait for the slot
    rec.release.set()
    assert await asyncio.gather(first, *rest) == [10, 20, 30, 40, 50, 60, 70, 80]
    assert rec.batches == [[1], [2, 3, 4, 5, 6, 7, 8]]


async def test_max_batch_caps_a_batch():
    rec = Recorder()
    rec.release.set()
    c = Coalescer(rec, max_batch=3, max_in_flight=1)
    assert await asyncio.gather(*(c.submit(i) for i in range(1, 9))) == [i * 10 for i in range(1, 9)]
    assert [len(b) for b in rec.batches] == [1, 3, 3, 1]


async def test_the_slots_share_the_outstanding_calls_evenly():
    rec = Recorder()
    c = Coalescer(rec, max_batch=64, max_in_flight=2)
    calls = [asyncio.ensure_future(c.submit(i)) for i in range(1, 18)]
    await settle()
    assert rec.batches == [[1], [2]]
    rec.release.set()
    await asyncio.gather(*calls)
    # 15 queued + 1 in flight → the freed slot takes 8, the next one the remaining 7 (not 15 and 0)
    assert sorted(len(b) for b in rec.batches[2:]) == [7, 8]


async def test_an_item_error_reaches_only_its_caller():
    rec = Recorder()
    rec.release.set()
    c = Coalescer(rec, max_batch=64, max_in_flight=1)
    results = await asyncio.gather(*(c.submit(i) for i in (1, -2, 3)), return_exceptions=True)
    assert results[0] == 10 and results[2] == 30
    assert isinstance(results[1], ValueError) and str(results[1]) == "bad -2"


async def test_a_failing_batch_fails_each_of_its_callers_and_the_next_batch_still_runs():
    seen: list[list[int]] = []
    gate = asyncio.Event()

    async def run(items):
        seen.append(items)
        await gate.wait()
        if 2 in items:
            raise ConnectionError("database gone")
        return items

    c = Coalescer(run, max_batch=64, max_in_flight=1)
    first = asyncio.ensure_future(c.submit(1))
    await settle()
    doomed = [asyncio.ensure_future(c.submit(i)) for i in (2, 3)]
    gate.set()
    assert await first == 1
    for f in doomed:
        with pytest.raises(ConnectionError):
            await f
    assert await c.submit(4) == 4
    assert seen == [[1], [2, 3], [4]]


async def test_a_result_list_of_the_wrong_length_is_an_error_not_a_silent_mismatch():
    async def run(items):
        return items[:-1]

    c = Coalescer(run, max_batch=64, max_in_flight=1)
    with pytest.raises(RuntimeError, match="results for"):
        await c.submit(1)


async def test_a_cancelled_caller_does_not_disturb_the_others():
    rec = Recorder()
    c = Coalescer(rec, max_batch=64, max_in_flight=1)
    first = asyncio.ensure_future(c.submit(1))
    await settle()
    gone, kept = asyncio.ensure_future(c.submit(2)), asyncio.ensure_future(c.submit(3))
    await settle()
    gone.cancel()
    rec.release.set()
    assert await first == 10 and await kept == 30
    assert rec.batches == [[1], [3]]  # a call cancelled before its batch formed is not run


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        Coalescer(lambda items: items, max_batch=0, max_in_flight=1)
