"""Group commit for hot write paths: concurrent calls share one database round trip and one commit.

``Coalescer(run_batch, max_batch=…, max_in_flight=…)``: ``await coalescer.submit(item)`` returns that
item's result. While fewer than ``max_in_flight`` batches are running, a submitted item starts a batch
at once (a lone call waits for nothing: there is no timer). When all slots are busy, items queue, and
the next free slot takes them in arrival order: up to ``max_batch``, and no more than an even share
of everything outstanding (queued and in flight) per slot, so the slots carry batches of similar size. So batches grow only under
load, which is exactly when one commit per call is what limits throughput.

``run_batch(items)`` returns one result per item, in order; an element that is an exception is raised
to that item's caller alone. If ``run_batch`` itself raises, every caller in the batch gets the
exception. A caller that is cancelled while its batch runs does not cancel the batch (the other
callers' work goes on); its item's outcome is simply not delivered, as with any cancelled request.
"""
from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Coalescer(Generic[T, R]):
    def __init__(self, run_batch: Callable[[list[T]], Awaitable[Sequence[R | BaseException]]], *,
                 max_batch: int, max_in_flight: int,
                 on_batch: Callable[[int], None] | None = None) -> None:
        if max_batch < 1 or max_in_flight < 1:
            raise ValueError("max_batch and max_in_flight must be at least 1")
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._on_batch = on_batch
        self._queue: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight_items = 0

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._fill()
        return await future

    def _fill(self) -> None:
        while self._queue and len(self._tasks) < self._max_in_flight:
            self._start()

    def _start(self) -> None:
        # Share the outstanding items evenly between the slots: the callers of one batch come back
        # together, so an uneven split (one item here, fifteen there) would otherwise persist.
        share = -(-(len(self._queue) + self._in_flight_items) // self._max_in_flight)
        limit = min(self._max_batch, max(1, share))
        batch = []
        while self._queue and len(batch) < limit:
            entry = self._queue.popleft()
            if not entry[1].cancelled():  # its caller gave up before the batch formed: skip the work
                batch.append(entry)
        if not batch:
            return
        task = asyncio.get_running_loop().create_task(self._run(batch))
        self._tasks.add(task)
        self._in_flight_items += len(batch)
        task.add_done_callback(lambda t, n=len(batch): self._finished(t, n))

    def _finished(self, task: asyncio.Task[None], size: int) -> None:
        self._tasks.discard(task)
        self._in_flight_items -= size
        self._fill()

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        if self._on_batch is not None:
            self._on_batch(len(batch))
        try:
            results = await self._run_batch([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"run_batch returned {len(results)} results for {len(batch)} items")
        except BaseException as exc:  # noqa: BLE001 — delivered to every caller of the batch
            for _, future in batch:
                if future.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):  # the batch itself was cancelled (shutdown)
                    future.cancel()
                else:
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(batch, results):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
