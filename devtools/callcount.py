"""Count DynamoDB calls (and consumed capacity) made through the app's storage layer.

Hooks botocore's events on the clients of the shared table connections, so every
GetItem/Query/TransactWriteItems the code sends is seen — used by tests and bench/.
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator


@dataclass
class Calls:
    operations: list[str] = field(default_factory=list)
    capacity: float = 0.0

    @property
    def count(self) -> int:
        return len(self.operations)

    def by_operation(self) -> Counter:
        return Counter(self.operations)


def _clients() -> list[Any]:
    from chalicelib.wiring import container
    from chalicelib.storage.base import FeedItem, MainItem

    container().accounts  # binds the models
    seen: dict[int, Any] = {}
    for base in (MainItem, FeedItem):
        client = base._get_connection().connection.client
        seen[id(client)] = client
    return list(seen.values())


@contextmanager
def dynamodb_calls() -> Iterator[Calls]:
    calls = Calls()

    def before(model, **_: Any) -> None:
        calls.operations.append(model.name)

    def after(http_response, parsed, model, **_: Any) -> None:
        consumed = parsed.get("ConsumedCapacity")
        for entry in consumed if isinstance(consumed, list) else ([consumed] if consumed else []):
            calls.capacity += float(entry.get("CapacityUnits", 0) or 0)

    clients = _clients()
    for client in clients:
        client.meta.events.register("before-call.dynamodb.*", before, unique_id=f"count-before-{id(calls)}")
        client.meta.events.register("after-call.dynamodb.*", after, unique_id=f"count-after-{id(calls)}")
    try:
        yield calls
    finally:
        for client in clients:
            client.meta.events.unregister("before-call.dynamodb.*", unique_id=f"count-before-{id(calls)}")
            client.meta.events.unregister("after-call.dynamodb.*", unique_id=f"count-after-{id(calls)}")
