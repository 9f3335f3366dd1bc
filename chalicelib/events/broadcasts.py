"""Stream handler of broadcasts: a chunk's INSERT runs it (``services.broadcasts.run_chunk``)."""

from __future__ import annotations

import logging
import time

from chalicelib.storage.stream import Change

log = logging.getLogger("dongne.broadcasts")


def chunk_written(change: Change, deadline: float | None) -> None:
    if change.event_name != "INSERT":
        return  # its counters moving: nothing to do
    from chalicelib import clock
    from chalicelib.services.broadcasts import run_chunk
    from chalicelib.wiring import container

    deps = container()
    chunk = change.record_new()
    report = run_chunk(deps.broadcasts, deps.consents, chunk, now=clock.now(),
                       size=deps.settings.broadcast_chunk_size, clock=time.monotonic, deadline=deadline,
                       coupons=deps.coupons)
    log.info("broadcast", extra={"broadcast_id": chunk.broadcast_id, "pass": chunk.pass_no, "seq": chunk.seq,
                                 "action": report.action, "seen": report.seen, "delivered": report.delivered,
                                 "skipped": report.skipped, "held": report.held, "granted": report.granted,
                                 "continued": report.continued})


HANDLERS = (("broadcast_chunk", chunk_written, ("INSERT",)),)
