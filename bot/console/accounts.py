"""Console accounts in Redis: argon2 password hashes, a role, and a generation per account.

A session carries the account's generation and every request checks it, so deleting an account
(or changing its password) makes every cookie issued for it worthless at once, even a stolen one.
Keys: `console:account:{name}` hash (role, hash, generation, created_at); `console:accounts` set;
`console:generation` counter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import redis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("agent", "admin")
ACCOUNTS = "console:accounts"
GENERATION = "console:generation"
NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-password-anyone-has")


class AccountError(ValueError):
    """A name, role or password the console refuses; the message says why."""


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    generation: int
    created_at: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def key(name: str) -> str:
    return f"console:account:{name}"


class AccountStore:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def add(self, name: str, role: str, password: str, at: float) -> Account:
        """Create or replace `name`; a replaced account's sessions end."""
        if not NAME.fullmatch(name):
            raise AccountError("name: letters, digits and _ . @ - only, at most 64")
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"password must have at least {MIN_PASSWORD} characters")
        generation = int(self.redis.incr(GENERATION))
        pipe = self.redis.pipeline()
        pipe.hset(key(name), mapping={"role": role, "hash": _hasher.hash(password),
                                      "generation": generation, "created_at": int(at)})
        pipe.sadd(ACCOUNTS, name)
        pipe.execute()
        return Account(name, role, generation, int(at))

    def get(self, name: str) -> Account | None:
        raw = self.redis.hgetall(key(name)) if NAME.fullmatch(name or "") else {}
        if not raw:
            return None
        return Account(name, raw.get("role", "agent"), int(raw.get("generation", 0)),
                       int(raw.get("created_at", 0)))

    def verify(self, name: str, password: str) -> Account | None:
        """The account if the password is right; None otherwise, taking as long either way."""
        stored = self.redis.hget(key(name), "hash") if NAME.fullmatch(name or "") else None
        try:
            _hasher.verify(stored or _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if stored is None:
            return None
        if _hasher.check_needs_rehash(stored):
            self.redis.hset(key(name), "hash", _hasher.hash(password))
        return self.get(name)

    def current(self, name: str, generation: int) -> Account | None:
        """The account a session names, if it still exists in the same generation."""
        account = self.get(name)
        return account if account and account.generation == generation else None

    def delete(self, name: str) -> bool:
        pipe = self.redis.pipeline()
        pipe.delete(key(name))
        pipe.srem(ACCOUNTS, name)
        deleted, _ = pipe.execute()
        return bool(deleted)

    def all(self) -> list[Account]:
        names = sorted(self.redis.smembers(ACCOUNTS))
        return [a for a in (self.get(n) for n in names) if a]

    def admins(self) -> int:
        return sum(1 for a in self.all() if a.is_admin)
