"""The faults the stand-in reporting API injects, and how one is drawn for a request.

A spec is a comma-separated list of `name=rate`, e.g. `429=0.05,500=0.03,slow=0.02,drop=0.01`; the rates are
probabilities per request and must add up to at most 1.

Drawing is a pure function of (seed, request ordinal): the ordinal's uniform number is the first 8 bytes of
SHA-256 of `"{seed}:{ordinal}"` read as a fraction of 2**64, and it falls into the kinds' rates laid end to end in
the order of `FAULT_KINDS` (whatever the order in the spec), or past them (no fault). So the same seed and spec give
the same faults at the same ordinals in every run, and two services with the same seed fail alike.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# What each kind does on the wire; the order is the order of the rates on the unit interval.
FAULT_KINDS: dict[str, str] = {
    "429": "429 Too Many Requests with Retry-After",
    "500": "500 Internal Server Error, JSON body",
    "502": "502 Bad Gateway, JSON body",
    "503": "503 Service Unavailable, JSON body",
    "slow": "the right answer, after a delay",
    "expire": "410 Gone for a request that carries a cursor, as if the cursor had expired",
    "cut": "a prefix of the right body, with a Content-Length matching what is sent (invalid JSON)",
    "drop": "the connection closes before the response is complete",
}


def uniform(seed: int, ordinal: int) -> float:
    """The number in [0, 1) that decides the fault of request `ordinal` under `seed`."""
    digest = hashlib.sha256(f"{seed}:{ordinal}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class FaultSpec:
    rates: tuple[tuple[str, float], ...] = ()  # (kind, rate) in FAULT_KINDS order, rate > 0

    @classmethod
    def parse(cls, text: str | None) -> FaultSpec:
        """`429=0.05,500=0.03,...`; empty or None means no faults."""
        given: dict[str, float] = {}
        for entry in (text or "").split(","):
            entry = entry.strip()
            if not entry:
                continue
            name, sep, value = (part.strip() for part in entry.partition("="))
            if name not in FAULT_KINDS:
                raise ValueError(
                    f"fault spec entry {entry!r}: unknown fault {name!r}; known faults are {', '.join(FAULT_KINDS)}"
                )
            if not sep:
                raise ValueError(f"fault spec entry {entry!r}: write it as {name}=RATE, e.g. {name}=0.05")
            try:
                rate = float(value)
            except ValueError:
                raise ValueError(f"fault spec entry {entry!r}: the rate {value!r} is not a number") from None
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault spec entry {entry!r}: the rate must be between 0 and 1")
            if name in given:
                raise ValueError(f"fault spec entry {entry!r}: {name} is given twice")
            given[name] = rate
        total = sum(given.values())
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault spec {text!r}: the rates add up to {total:g}, more than 1")
        return cls(tuple((name, given[name]) for name in FAULT_KINDS if given.get(name, 0.0) > 0.0))

    def __str__(self) -> str:
        return ",".join(f"{name}={rate:g}" for name, rate in self.rates)

    def draw(self, seed: int, ordinal: int) -> str | None:
        """The fault of request `ordinal` under `seed`, or None."""
        if not self.rates:
            return None
        u = uniform(seed, ordinal)
        upper = 0.0
        for name, rate in self.rates:
            upper += rate
            if u < upper:
                return name
        return None
