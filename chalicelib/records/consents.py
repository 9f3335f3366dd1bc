"""A customer's consent to a shop's advertising messages (정보통신망법 §50)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ShopPreference:
    """Off until the customer turns it on. ``consented_at`` / ``night_consented_at``: when the
    consent now in force was given (None while off). Every change is also kept as a record
    with its time (``ConsentRecord``)."""

    user_id: str
    shop_id: str
    marketing: bool = False
    marketing_at_night: bool = False  # 21:00–08:00 KST: a separate consent (§50 ③)
    consented_at: float | None = None
    night_consented_at: float | None = None
    updated_at: float | None = None


@dataclass(frozen=True)
class ConsentRecord:
    """One change of consent, as it was given or withdrawn, at its time."""

    user_id: str
    shop_id: str
    marketing: bool
    marketing_at_night: bool
    at: float
