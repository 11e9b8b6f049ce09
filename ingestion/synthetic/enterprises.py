"""A population of enterprises that age, grow, enter and leave, and their annual reports (火炬统计年报).

Everything is drawn with numpy over whole columns, under one seeded generator, so a seed gives the same files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingestion.reference import tech_fields
from ingestion.synthetic.reference import Reference
from ingestion.uscc import CHARSET, WEIGHTS

# A few real GB/T 4754-2017 classes where high-tech enterprises concentrate; issue 3 vendors the full table.
INDUSTRY_CODES = ("3911", "3922", "3981", "6511", "6513", "6531", "2710", "2720", "3581", "3841", "7310", "3562")
HTE_CERT_YEARS = 3  # a high-tech enterprise certificate is valid 3 years (domain-rules §4)


@dataclass
class Population:
    """One row per enterprise that ever exists in the simulated years."""

    frame: pd.DataFrame  # uscc, name, region_code, province_code, industry_code, tech_field, established_on,
    #                      first_year, last_year, size (latent scale), rd_intensity, hte_first_year


def uscc_codes(rng: np.random.Generator, region_codes: np.ndarray) -> np.ndarray:
    """Valid USCCs: '91' (market regulation, enterprise) + registering authority's division + 9-char org code."""
    n = len(region_codes)
    alphabet = np.array(list(CHARSET))
    org = rng.integers(0, len(CHARSET), size=(n, 8))
    org_digits = np.where(org < 10, org, org + 7)  # GB 11714 values its letters A=10 …; a close enough spread
    org_check = (11 - (org_digits * np.array([3, 7, 9, 10, 5, 8, 4, 2])).sum(axis=1) % 11) % 11
    org_check_char = np.where(org_check == 10, "X", org_check.astype(str))
    bodies = np.char.add(np.char.add(np.char.add("91", region_codes.astype(str)), ["".join(r) for r in alphabet[org]]), org_check_char)
    values = np.array([[CHARSET.index(c) for c in body] for body in bodies]) if n else np.zeros((0, 17), int)
    check = (31 - (values * np.array(WEIGHTS)).sum(axis=1) % 31) % 31
    return np.char.add(bodies, alphabet[check]) if n else np.array([], dtype=str)


def build_population(rng: np.random.Generator, ref: Reference, years: range, size: int) -> Population:
    """`size` enterprises alive in the first year, about 8% entering and 5% leaving each year after."""
    start, end = years.start, years.stop - 1
    n_total = int(size * (1 + 0.08 * (len(years) - 1)))
    first_year = np.full(n_total, start)
    entrants = np.arange(size, n_total)
    first_year[entrants] = rng.integers(start + 1, end + 1, size=len(entrants)) if len(years) > 1 else start
    lifetime = rng.geometric(0.05, size=n_total)
    last_year = np.minimum(first_year + lifetime, end + 5)

    counties = ref.counties.sample(n=n_total, replace=True, weights=ref.counties["weight"], random_state=rng)
    region_codes = counties["division_code"].to_numpy()
    age_at_entry = np.where(first_year == start, rng.integers(1, 25, size=n_total), rng.integers(0, 3, size=n_total))
    established = pd.to_datetime(
        [dt.date(int(y), 1, 1) for y in first_year - age_at_entry]
    ) + pd.to_timedelta(rng.integers(0, 365, size=n_total), unit="D")

    codes = uscc_codes(rng, region_codes)
    frame = pd.DataFrame(
        {
            "uscc": codes,
            "name": [f"{p}{s}科技有限公司" for p, s in zip(counties["prefix"].to_numpy(), np.char.mod("%05d", np.arange(n_total)))],
            "region_code": region_codes,
            "industry_code": rng.choice(INDUSTRY_CODES, size=n_total),
            "tech_field": rng.choice(tech_fields(), size=n_total),
            "established_on": established.date,
            "first_year": first_year,
            "last_year": last_year,
            "size": rng.lognormal(mean=4.0, sigma=1.1, size=n_total),  # employees at entry, median ~55
            "growth": rng.normal(0.06, 0.12, size=n_total),
            "rd_intensity": np.clip(rng.lognormal(np.log(0.045), 0.6, size=n_total), 0.001, 0.4),
            "hightech_share": np.clip(rng.beta(6, 3, size=n_total), 0, 1),
            "is_hte": rng.random(n_total) < 0.45,
            "hte_offset": rng.integers(0, HTE_CERT_YEARS, size=n_total),
            "wants_sme": rng.random(n_total) < 0.55,
            "listed": rng.random(n_total) < 0.01,
        }
    )
    return Population(frame)


def annual_reports(rng: np.random.Generator, population: Population, year: int) -> pd.DataFrame:
    """Every report for reporting year `year` from the enterprises alive in it (revision 1)."""
    pop = population.frame
    alive = pop[(pop.first_year <= year) & (pop.last_year >= year)].reset_index(drop=True)
    n = len(alive)
    age = year - alive.first_year.to_numpy()
    employees = np.maximum(1, np.round(alive["size"] * (1 + alive["growth"]) ** age * rng.lognormal(0, 0.05, n))).astype(np.int64)
    st_staff = np.floor(employees * np.clip(rng.beta(3, 5, n), 0.02, 1)).astype(np.int64)
    rd_staff = np.floor(st_staff * rng.beta(5, 3, n)).astype(np.int64)
    graduates = np.floor(employees * rng.beta(4, 4, n)).astype(np.int64)
    revenue = np.round(employees * rng.lognormal(np.log(900), 0.7, n), 1)  # 千元
    rd_expense = np.round(revenue * alive["rd_intensity"].to_numpy() * rng.lognormal(0, 0.15, n), 1)
    domestic = np.round(rd_expense * np.clip(rng.beta(12, 1, n), 0, 1), 1)
    hightech = np.round(revenue * alive["hightech_share"].to_numpy(), 1)
    cert_year = year - (year - alive["hte_offset"].to_numpy()) % HTE_CERT_YEARS
    is_hte = alive["is_hte"].to_numpy()
    cert_dates = pd.to_datetime([f"{y}-11-20" for y in cert_year])
    is_sme = alive["wants_sme"].to_numpy() & (employees <= 500) & (revenue <= 200_000)
    submitted = pd.Timestamp(f"{year + 1}-03-01T09:00:00+08:00") + pd.to_timedelta(rng.integers(0, 60 * 24 * 60, n), unit="min")
    reports = pd.DataFrame(
        {
            "filing_id": [f"ENT-{year}-{c}" for c in alive.uscc],
            "revision": 1,
            "period": year,
            "submitted_at": submitted,
            "uscc": alive.uscc,
            "name": alive.name,
            "region_code": alive.region_code,
            "zone_code": None,
            "industry_code": alive.industry_code,
            "tech_field": np.where(is_hte, alive.tech_field, np.where(rng.random(n) < 0.5, alive.tech_field, None)),
            "established_on": alive.established_on,
            "hte_cert_no": np.where(is_hte, [f"GR{y}{c[2:8]}{i % 10000:04d}" for i, (y, c) in enumerate(zip(cert_year, alive.uscc))], None),
            "hte_cert_date": np.where(is_hte, cert_dates, pd.NaT),
            "sme_reg_no": np.where(is_sme, [f"{year}{c[2:8]}{i % 100000:05d}" for i, c in enumerate(alive.uscc)], None),
            "employees": employees,
            "st_staff": st_staff,
            "rd_staff": rd_staff,
            "graduates": graduates,
            "revenue": revenue,
            "hightech_revenue": hightech,
            "industrial_output": np.round(revenue * rng.uniform(0, 1.1, n), 1),
            "net_profit": np.round(revenue * rng.normal(0.06, 0.08, n), 1),
            "taxes_paid": np.round(revenue * rng.uniform(0.01, 0.06, n), 1),
            "exports": np.round(revenue * np.where(rng.random(n) < 0.2, rng.uniform(0, 0.5, n), 0), 1),
            "total_assets": np.round(revenue * rng.lognormal(0.2, 0.5, n), 1),
            "total_cost": np.round(revenue * rng.uniform(0.7, 1.0, n), 1),
            "rd_expense": rd_expense,
            "rd_expense_domestic": domestic,
            "patent_applications": rng.poisson(np.maximum(0.2, rd_staff / 8)),
            "invention_grants": rng.poisson(np.maximum(0.05, rd_staff / 40)),
            "valid_invention_patents": rng.poisson(np.where(is_hte, 3.0, 0.6)),
            "class2_ip": rng.poisson(np.where(is_hte, 6.0, 2.0)),
            "pct_applications": rng.poisson(0.1, n),
            "energy_tce": np.round(employees * rng.lognormal(0, 0.8, n), 2),
            "listed": alive.listed.to_numpy(),
            "contact_phone": np.char.add("1", rng.integers(3_000_000_000, 9_999_999_999, n).astype(str)),
        }
    )
    reports["hte_cert_date"] = pd.to_datetime(reports["hte_cert_date"]).dt.date
    return reports
