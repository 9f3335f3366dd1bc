"""Plausible relationship histories, for the ranking tests and the relationships benchmark."""

from __future__ import annotations

import random

from chalicelib.services.scoring import DAY_SECONDS, RelationshipState, Signal, apply


def random_state(rng: random.Random, now: float) -> RelationshipState:
    """Follows, likes, comments, orders of various sizes and reviews over the 200 days to ``now``."""
    state = RelationshipState()
    events = [(Signal.FOLLOW, {})] if rng.random() < 0.7 else [(Signal.LIKE, {})]
    events += [(rng.choice([Signal.LIKE, Signal.LIKE, Signal.COMMENT, Signal.SHARE]), {})
               for _ in range(rng.randint(0, 8))]
    events += [(Signal.ORDER, {"amount": rng.randint(3, 150) * 1000}) for _ in range(rng.choice([0, 0, 1, 2, 3, 6]))]
    if rng.random() < 0.2:
        events.append((Signal.REVIEW, {"rating": rng.randint(1, 5)}))
    for signal, kwargs in events:
        state, _ = apply(state, signal, now - rng.uniform(0, 200) * DAY_SECONDS, **kwargs)
    return state
