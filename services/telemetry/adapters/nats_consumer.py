"""NATS JetStream consumer for Tesla Fleet Telemetry vehicle-data records.

Tesla's fleet-telemetry server publishes each record to ``<namespace>.<VIN>.data`` (protobuf
``Payload``). A stream captures ``<namespace>.*.data``; one durable pull consumer (shared by all
replicas, so each record goes to one of them) with explicit acks, ``max_deliver`` and a redelivery
backoff. Per fetched batch the records are decoded and handled in ``created_at`` order:

- handled (processed, duplicate, stale resend) → ack;
- undecodable, VIN not matching the subject, unknown VIN → published to the dead-letter subject
  ``<dead_letter_subject>.<reason>`` (its own stream) with the raw bytes, then ack;
- a failure (database down, …) → ``nak`` with the backoff delay for that delivery; on the last
  allowed delivery → dead letter ``processing_error`` and ``term``.

The broker keeps the consumer's position, so a consumer or broker restart loses nothing: unacked
records are redelivered (the de-dup key makes a redelivery of a handled record a no-op).
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from services.telemetry.adapters import fleet_codec
from services.telemetry.domain import push as P

log = logging.getLogger("telemetry.nats")


@dataclasses.dataclass(frozen=True)
class NatsSettings:
    url: str
    stream: str = "TESLA_TELEMETRY"
    namespace: str = "tesla_telemetry"
    durable: str = "nerava-telemetry"
    dead_letter_subject: str = "nerava.telemetry.dead_letter"
    max_deliver: int = 6
    backoff_s: tuple[float, ...] = (1.0, 5.0, 30.0, 60.0, 300.0)
    ack_wait_s: float = 30.0
    batch: int = 100
    fetch_timeout_s: float = 1.0

    @property
    def subject(self) -> str:
        return f"{self.namespace}.*.data"

    @property
    def dead_letter_stream(self) -> str:
        return f"{self.stream}_DEAD_LETTER"


class DeadLetter(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# handler(record) → None when handled, or a dead-letter reason (e.g. "unknown_vin"); raises on failure
Handler = Callable[[P.FleetRecord], Awaitable[str | None]]
DeadLetterSink = Callable[[str, bytes, str, str | None], Awaitable[None]]


class FleetTelemetryConsumer:
    def __init__(self, settings: NatsSettings, handler: Handler, dead_letter: DeadLetterSink | None = None,
                 before_batch: Callable[[], Awaitable[None]] | None = None) -> None:
        self.settings, self.handler, self.record_dead_letter = settings, handler, dead_letter
        self.before_batch = before_batch
        self.nc: Any = None
        self.js: Any = None
        self.sub: Any = None
        self._stopping = False
        self.stats = {"acked": 0, "dead_lettered": 0, "naked": 0, "batches": 0}

    # ------------------------------------------------------------------ set-up
    async def connect(self) -> None:
        s = self.settings
        self.nc = await nats.connect(s.url, name=f"nerava-telemetry-{s.durable}", connect_timeout=2,
                                     allow_reconnect=True, max_reconnect_attempts=-1, reconnect_time_wait=0.5)
        self.js = self.nc.jetstream()
        await self._ensure_stream(s.stream, [s.subject])
        await self._ensure_stream(s.dead_letter_stream, [f"{s.dead_letter_subject}.>"])
        config = ConsumerConfig(durable_name=s.durable, ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
                                max_deliver=s.max_deliver, ack_wait=s.ack_wait_s, filter_subject=s.subject,
                                backoff=list(s.backoff_s[: max(1, s.max_deliver - 1)]))
        self.sub = await self.js.pull_subscribe(s.subject, durable=s.durable, stream=s.stream, config=config)

    async def _ensure_stream(self, name: str, subjects: list[str]) -> None:
        try:
            await self.js.stream_info(name)
        except NotFoundError:
            try:
                await self.js.add_stream(StreamConfig(name=name, subjects=subjects, storage=StorageType.FILE))
            except BadRequestError:  # another replica created it first
                await self.js.stream_info(name)

    # ------------------------------------------------------------------ loop
    async def run_forever(self) -> None:
        """The background task: (re)connect, then fetch and handle batches until stopped."""
        while not self._stopping:
            try:
                if self.sub is None:
                    await self.connect()
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 — the broker may be restarting; retry without losing acks
                log.warning("fleet telemetry consumer: broker error, retrying", exc_info=True)
                await self._reset()
                await asyncio.sleep(1.0)

    async def run_once(self) -> int:
        """Fetch one batch (waits ≤ ``fetch_timeout_s``) and handle it; returns the messages handled."""
        try:
            msgs = await self.sub.fetch(self.settings.batch, timeout=self.settings.fetch_timeout_s)
        except (NatsTimeout, asyncio.TimeoutError):
            return 0
        if self.before_batch is not None:
            await self.before_batch()
        decoded: list[tuple[Any, P.FleetRecord | None, str | None]] = []
        for msg in msgs:
            decoded.append((msg, *self._decode(msg)))
        decoded.sort(key=lambda item: (item[1].created_at.timestamp() if item[1] else 0.0))
        for msg, record, reason in decoded:
            await self._handle(msg, record, reason)
        self.stats["batches"] += 1
        return len(msgs)

    def _decode(self, msg) -> tuple[P.FleetRecord | None, str | None]:
        try:
            record = fleet_codec.decode(bytes(msg.data))
        except fleet_codec.Undecodable:
            return None, "undecodable"
        parts = msg.subject.split(".")
        if len(parts) < 3 or parts[-2].upper() != record.vin:
            return record, "vin_mismatch"  # a record published under another car's subject
        return record, None

    async def _handle(self, msg, record: P.FleetRecord | None, reason: str | None) -> None:
        if reason is None and record is not None:
            try:
                reason = await self.handler(record)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 — redeliver with backoff, dead letter on the last try
                delivered = msg.metadata.num_delivered
                if delivered >= self.settings.max_deliver:
                    log.error("fleet telemetry record failed on its last delivery; dead-lettered", exc_info=True)
                    await self._dead_letter(msg, record, "processing_error")
                    await msg.term()
                    return
                delay = self.settings.backoff_s[min(delivered, len(self.settings.backoff_s)) - 1]
                log.warning("fleet telemetry record failed; redelivery in %ss", delay, exc_info=True)
                await msg.nak(delay=delay)
                self.stats["naked"] += 1
                return
        if reason is not None:
            await self._dead_letter(msg, record, reason)
        await msg.ack()
        self.stats["acked"] += 1

    async def _dead_letter(self, msg, record: P.FleetRecord | None, reason: str) -> None:
        headers = {"Nerava-Reason": reason, "Nerava-Subject": msg.subject}
        await self.js.publish(f"{self.settings.dead_letter_subject}.{reason}", bytes(msg.data), headers=headers)
        if self.record_dead_letter is not None:
            await self.record_dead_letter(reason, bytes(msg.data), msg.subject, record.vin if record else None)
        self.stats["dead_lettered"] += 1

    # ------------------------------------------------------------------ stop
    async def _reset(self) -> None:
        nc, self.nc, self.js, self.sub = self.nc, None, None, None
        if nc is not None:
            try:
                await nc.close()
            except Exception:  # noqa: BLE001
                pass

    async def close(self) -> None:
        self._stopping = True
        await self._reset()
