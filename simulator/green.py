"""The green development account's inputs of a zone report: energy by carrier, renewable electricity, water, solid
waste and value added, coherent with the report's own totals.

Each zone's draws come from a generator seeded by its code and the year, not from the run's generator, so adding
these fields left every other figure of a run with a given seed unchanged. The shapes are this project's
assumptions, not published figures: a carrier mix per zone in which coal gives way to electricity over the years,
value added a fifth of revenue, water and waste in proportion to value added.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from ingestion.contracts import ENERGY_CARRIERS
from ingestion.reference import rows

# Mean shares of a zone's energy (tce) by carrier, in ENERGY_CARRIERS order, and how much of coal's share moves to
# electricity each year after 2020.
CARRIER_MIX = np.array([0.25, 0.06, 0.12, 0.45, 0.12])
COAL_TO_ELECTRICITY_PER_YEAR = 0.03
CARRIER_SPREAD = 30.0  # Dirichlet concentration: higher keeps each zone's mix nearer the mean
VALUE_ADDED_PER_REVENUE = (0.17, 0.21)  # below the 0.22 of gdp (filings.zone_reports): value added ≤ 园区生产总值
RENEWABLE_SHARE_OF_ELECTRICITY = (0.05, 0.35)
WATER_T_PER_10K_YUAN = (2.0, 10.0)
WASTE_T_PER_10K_YUAN = (0.01, 0.08)
WASTE_REUSE_RATE = (0.75, 0.98)


def tce_per_unit() -> dict[str, float]:
    """GB/T 2589 standard-coal factor of each carrier, per its filed physical unit (ref_standard_coal_factors)."""
    return {r["carrier"]: float(r["tce_per_physical_unit"]) for r in rows("ref_standard_coal_factors")}


def _zone_rng(zone_code: str, year: int, salt: int) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(zone_code.encode()), year, salt])


def carrier_shares(zone_code: str, year: int) -> np.ndarray:
    """The zone's energy mix in `year`: its own mix (constant over the years) with coal moving to electricity."""
    shares = _zone_rng(zone_code, 0, 1).dirichlet(CARRIER_MIX * CARRIER_SPREAD)
    moved = shares[0] * min(1.0, COAL_TO_ELECTRICITY_PER_YEAR * max(0, year - 2020) / CARRIER_MIX[0])
    shares[0] -= moved
    shares[3] += moved
    return shares


def green_columns(zone_codes: Sequence[str], year: int, energy_tce: np.ndarray, revenue: np.ndarray) -> dict:
    """The green account's fields of each zone's report, keyed as the contract. Carriers' tce add up to the
    report's energy_tce (heat takes the rounding) and physical quantities are tce over GB/T 2589 factors."""
    factors = tce_per_unit()
    n = len(zone_codes)
    shares = np.array([carrier_shares(z, year) for z in zone_codes]).reshape(n, len(ENERGY_CARRIERS))
    draws = np.array([_zone_rng(z, year, 2).random(5) for z in zone_codes]).reshape(n, 5)

    def between(bounds: tuple[float, float], column: int) -> np.ndarray:
        return bounds[0] + (bounds[1] - bounds[0]) * draws[:, column]

    total = np.round(energy_tce, 2)
    tce = np.round(total[:, None] * shares, 2)
    tce[:, -1] = np.maximum(0, np.round(total - tce[:, :-1].sum(axis=1), 2))
    columns: dict[str, np.ndarray] = {}
    for i, (key, _, unit_key, _) in enumerate(ENERGY_CARRIERS):
        columns[f"{key}_{unit_key}"] = np.round(tce[:, i] / factors[key], 2)
        columns[f"{key}_tce"] = tce[:, i]
    columns["renewable_electricity_10k_kwh"] = np.round(
        columns["electricity_10k_kwh"] * between(RENEWABLE_SHARE_OF_ELECTRICITY, 0), 2)
    value_added = np.round(revenue * between(VALUE_ADDED_PER_REVENUE, 1), 1)
    value_added_10k_yuan = value_added / 10  # filed in 千元
    columns["water_10k_t"] = np.round(value_added_10k_yuan * between(WATER_T_PER_10K_YUAN, 2) / 10_000, 4)
    columns["solid_waste_t"] = np.round(value_added_10k_yuan * between(WASTE_T_PER_10K_YUAN, 3), 2)
    columns["solid_waste_reused_t"] = np.round(columns["solid_waste_t"] * between(WASTE_REUSE_RATE, 4), 2)
    columns["value_added"] = value_added
    return columns
