"""Measure CLO webhook ingest (verify + inbox + evaluate + outbox) through the use cases.

    .venv/bin/python scripts/bench_clo_ingest.py [postgresql://postgres@127.0.0.1:5432/test] [events] [concurrency] [cards]

Creates a scratch database (PostgreSQL: a new database; else SQLite in a temp dir), links a card,
creates 100 offers for the merchant, then sends signed auth webhooks (distinct ids) and reports
events/s and latency percentiles. A benchmark, not a test."""
from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid

import asyncpg

from kit import migrations
from kit.db import Database
from services.clo.adapters.fidel import FakeFidelClient
from services.clo.app.usecases import CloUseCases
from services.clo.config import CloConfig
from services.clo.domain import signature
from services.clo.domain.cards import ProviderCard
from services.clo.domain.offers import Offer


async def main() -> None:
    target = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    conc = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    name = None
    if target.startswith("postgres"):
        name = f"clo_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(target)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = target.rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    await asyncio.to_thread(migrations.upgrade, "clo", url)
    db = Database(url, pool_size=conc)
    uc = CloUseCases(db, CloConfig(ENV="test", FIDEL_WEBHOOK_SECRET="s"), fidel=FakeFidelClient())
    cards = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    for c in range(cards):  # events spread over many cards (one card's events are serialised)
        uc.fidel.add(ProviderCard(f"fc{c}", "prog_sim", f"d{c}", "4242", "visa", 12, 2030))
        await uc.link_card(f"d{c}", f"fc{c}")
    for i in range(100):
        await uc.create_offer("a", True, Offer(offer_id="", merchant_id="m1", reward_cents=1 + i,
                                               min_spend_cents=i * 10))
    url_signed = uc.config.registered_url("transaction.auth")
    lat: list[float] = []
    sem = asyncio.Semaphore(conc)

    async def one(i: int) -> None:
        body = json.dumps({"id": f"t{i}", "amount": 20, "currency": "USD", "datetime": "2026-03-04T12:00:00",
                           "card": {"id": f"fc{i % cards}"}, "location": {"id": "l", "metadata": {"merchantId": "m1"}}},
                          separators=(",", ":")).encode()
        ts = str(int(time.time() * 1000))
        sig = signature.sign("s", body, url_signed, ts)
        async with sem:
            t0 = time.perf_counter()
            await uc.handle_webhook("transaction.auth", "", body, sig, ts)
            lat.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - started
    lat.sort()
    print(f"{target.split(':')[0]}: {n} auth events, concurrency {conc}: {n / elapsed:.0f} events/s, "
          f"p50 {statistics.median(lat) * 1000:.1f} ms, p99 {lat[int(len(lat) * 0.99) - 1] * 1000:.1f} ms")
    await db.dispose()
    if name:
        admin = await asyncpg.connect(target)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
