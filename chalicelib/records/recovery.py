"""One-time codes (password reset, e-mail/phone verification), as services and storage pass them."""

from __future__ import annotations

from dataclasses import dataclass

RESET, VERIFY = "reset", "verify"
# Why a try was refused before its code was compared (storage.recovery.CodesRepository.try_code).
MISSING, EXPIRED, LOCKED = "missing", "expired", "locked"


@dataclass(frozen=True)
class Code:
    """The live code of one purpose for one subject: an HMAC of the code, never the code."""

    purpose: str  # RESET | VERIFY
    subject: str  # reset: the e-mail/phone's identifier subject; verify: the user id
    user_id: str | None  # None: a reset asked for an address no account has
    channel: str  # email | phone
    target: str  # the identifier subject of the address the code went to
    code_hash: str
    issued_at: float
    valid_until: float
    tries: int = 0
