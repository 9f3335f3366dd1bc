"""Password hashing with argon2id (memory-hard), via argon2-cffi."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4)
def _hasher(memory_kib: int, time_cost: int):
    # Imported lazily: only signup and login pay for loading the argon2 bindings.
    from argon2 import PasswordHasher

    return PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=1)


class Passwords:
    def __init__(self, memory_kib: int, time_cost: int) -> None:
        self._params = (memory_kib, time_cost)
        # Verified against when the account does not exist, so that an unknown e-mail
        # costs as much time as a wrong password (no account enumeration by timing).
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return _hasher(*self._params).hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        hasher = _hasher(*self._params)
        if stored_hash is None:
            if self._dummy is None:
                self._dummy = hasher.hash("not-a-real-password")
            stored_hash = self._dummy
            try:
                hasher.verify(stored_hash, password)
            except (VerificationError, InvalidHashError):
                pass
            return False
        try:
            return hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False
