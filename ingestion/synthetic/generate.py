"""`ndc generate`: a seeded, consistent set of filings for all four families, as file drops and an API store.

    {out}/landing/{family}/{period}/{province}_{yyyymmdd}.csv|.xlsx   provincial file drops
    {out}/api/{family}.parquet                                        the reporting system's store (`ndc serve-api`)
    {out}/manifest/defects.csv                                        every injected defect and its expected outcome
    {out}/manifest/summary.json                                       what was generated, per family and year
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.contracts import FAMILIES
from ingestion.reference import rows
from ingestion.synthetic.defects import FILE_DEFECTS, damage_file, expected_outcome, inject_records, pilot_codes
from ingestion.synthetic.drops import ENCODINGS, DropStyle, encode, render, with_unit_row, write_bytes
from ingestion.synthetic.filings import carrier_reports, contract_records, corrections, enterprise_reports, zone_reports
from ingestion.synthetic.world import SCALES, build_world

CHANNELS = ("files", "api", "both")
API_SHARE_WHEN_BOTH = 0.5  # with --channel both, records go to the API or a file drop at random, half each
CORRECTION_SHARE = {"enterprise": 0.03, "incubator": 0.03, "contract": 0.01, "zone": 0.05}
XLSX_SHARE = 0.04
XLSX_MAX_ROWS = 500  # provinces send spreadsheets for small deliveries; large ones come as CSV
MANIFEST_COLUMNS = ["family", "channel", "source", "filing_id", "revision", "line", "defect", "expected_outcome"]


@dataclass
class GenerateSummary:
    files: int = 0
    records: int = 0
    by_family: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    contracts: dict[int, dict[str, float]] = field(default_factory=dict)  # year -> count, amount (亿元)
    defects: int = 0


def parse_years(text: str) -> range:
    """'2021-2023' or '2023'."""
    first, _, last = text.partition("-")
    start, stop = int(first), int(last or first)
    if stop < start:
        raise ValueError(f"years {text!r}: the last year comes before the first")
    return range(start, stop + 1)


def contract_targets(year: int) -> tuple[int, float, bool]:
    """National contract count and 成交额 (万元) for a year, from `ref_national_figures.csv`, and whether the count
    is an assumption. Where only 成交额 is published (2024), the count assumes the average contract value of the
    latest year with both figures: a modelling choice, not a published fact."""
    figures = {(r["metric"], int(r["year"])): float(r["value"]) for r in rows("ref_national_figures") if r["value"]}
    value_yi = figures.get(("tech_contract_value", year))
    if value_yi is None:
        known = sorted(y for (m, y) in figures if m == "tech_contract_value")
        raise ValueError(
            f"no published national technology-contract figures for {year} to calibrate against "
            f"(ref_national_figures.csv has 成交额 for {known})"
        )
    count = figures.get(("tech_contract_count", year))
    if count is not None:
        return int(count), value_yi * 10_000, False
    both = max(y for (m, y) in figures if m == "tech_contract_count" and ("tech_contract_value", y) in figures and y < year)
    average = figures[("tech_contract_value", both)] / figures[("tech_contract_count", both)]
    return round(value_yi / average), value_yi * 10_000, True


UNIT_ROW_SHARE = {"元": 0.1, "万元": 0.1}  # files whose unit row declares another money unit
THOUSANDS_SHARE = 0.15


def _styles(rng: np.random.Generator, rows: np.ndarray) -> list[DropStyle]:
    """How each of a batch of files is written (drawn for all at once: a draw per file costs more than a file)."""
    n = len(rows)
    draws = rng.random((n, 4))
    yuan, wan = UNIT_ROW_SHARE["元"], UNIT_ROW_SHARE["万元"]
    units = np.where(draws[:, 1] < yuan, "元", np.where(draws[:, 1] < yuan + wan, "万元", ""))
    encodings = np.array(ENCODINGS)[(draws[:, 2] * len(ENCODINGS)).astype(int)]
    return [
        DropStyle(
            fmt="xlsx" if draws[i, 0] < XLSX_SHARE and rows[i] <= XLSX_MAX_ROWS else "csv",
            encoding=str(encodings[i]),
            money_unit=str(units[i]) or None,
            thousands=bool(draws[i, 3] < THOUSANDS_SHARE),
        )
        for i in range(n)
    ]


class _Output:
    """Writes a family-year's records to file drops and the API store, and keeps the defect manifest."""

    def __init__(self, out: Path, channel: str, rng: np.random.Generator, summary: GenerateSummary):
        self.out, self.channel, self.rng, self.summary = Path(out), channel, rng, summary
        self.manifest: list[dict] = []
        self.api_writers: dict[str, pq.ParquetWriter] = {}

    def add(self, family_name: str, records: pd.DataFrame) -> None:
        if records.empty:
            return
        if self.channel == "both":
            to_api = self.rng.random(len(records)) < API_SHARE_WHEN_BOTH
        else:
            to_api = np.full(len(records), self.channel == "api")
        if "_duplicate_of_day" in records:
            # The reporting system holds each revision once; a duplicate is a province sending a record again.
            to_api &= ~records["_duplicate_of_day"].fillna(False).astype(bool).to_numpy()
        self._api(family_name, records[to_api])
        self._files(family_name, records[~to_api])
        self.summary.records += len(records)
        self.summary.by_family[family_name]["records"] += len(records)

    def _api(self, family_name: str, records: pd.DataFrame) -> None:
        if records.empty:
            return
        family = FAMILIES[family_name]
        table = _typed(records, family)
        if family_name not in self.api_writers:
            path = self.out / "api" / f"{family_name}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            self.api_writers[family_name] = pq.ParquetWriter(path, family.arrow_schema(), compression="zstd")
        self.api_writers[family_name].write_table(table)
        hit = records[records["_defect"].notna()]
        for filing_id, revision, defect in zip(hit["filing_id"], hit["revision"], hit["_defect"]):
            self._note(family_name, "api", f"api/{family_name}", filing_id, revision, None, defect)
        self.summary.by_family[family_name]["api"] += len(records)

    def _files(self, family_name: str, records: pd.DataFrame) -> None:
        if records.empty:
            return
        family = FAMILIES[family_name]
        records = records.reset_index(drop=True)
        # One file per period, province and China-time submission day; a duplicate arrives a week later.
        seconds = records["submitted_at"].to_numpy(dtype="datetime64[s]").astype(np.int64)
        day = (seconds + 8 * 3600) // 86400
        if "_duplicate_of_day" in records:
            day = day + 7 * records["_duplicate_of_day"].fillna(False).astype(bool).to_numpy()
        province = records["_province"].str[:2].astype(int).to_numpy()
        period = records["period"].to_numpy().astype(np.int64)
        order = np.lexsort((np.arange(len(records)), seconds, day, province, period))
        key = (period * 100 + province) * 100_000 + day
        key = key[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        ends = np.r_[starts[1:], len(records)]
        styles = _styles(self.rng, ends - starts)
        file_defects = [self._file_defect(style) for style in styles]
        cut_seeds = self.rng.integers(0, 2**32, len(starts))
        cells_of = _render_files(records, family, order, starts, ends, styles)
        sources = [
            f"{family_name}/{key[s] // 10_000_000}/{key[s] // 100_000 % 100:02d}0000_"
            f"{np.datetime64(int(key[s] % 100_000), 'D').astype(str).replace('-', '')}.{style.fmt}"
            for s, style in zip(starts, styles)
        ]

        def deliver(i: int) -> None:
            data = encode(cells_of[i], styles[i])
            if file_defects[i]:
                data = damage_file(np.random.default_rng(cut_seeds[i]), data, file_defects[i], styles[i].fmt,
                                   family.field("filing_id").header)
            write_bytes(data, self.out / "landing" / sources[i])

        # Arrow's CSV writer and the file system release the GIL: two cores encode and write files at once.
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(deliver, range(len(starts))))

        defects = records["_defect"].to_numpy()[order]
        filing_ids = records["filing_id"].to_numpy()[order]
        revisions = records["revision"].to_numpy()[order]
        for i, (start, end) in enumerate(zip(starts, ends)):
            if file_defects[i]:
                self._note(family_name, "files", sources[i], None, None, None, file_defects[i])
            first_line = 3 if styles[i].money_unit else 2
            for position in np.flatnonzero(pd.notna(defects[start:end])):
                row = start + position
                self._note(family_name, "files", sources[i], filing_ids[row], revisions[row], first_line + int(position),
                           defects[row], "rejected" if file_defects[i] else None)
        self.summary.files += len(starts)
        self.summary.by_family[family_name]["files"] += len(starts)

    def _file_defect(self, style: DropStyle) -> str | None:
        for name, (rate, _, _) in FILE_DEFECTS.items():
            if name in ("wrong_header", "wrong_encoding") and style.fmt != "csv":
                continue  # text defects of a CSV file
            if self.rng.random() < rate:
                return name
        return None

    def _note(self, family, channel, source, filing_id, revision, line, defect, outcome=None) -> None:
        self.summary.defects += 1
        self.manifest.append(
            {"family": family, "channel": channel, "source": source, "filing_id": filing_id, "revision": revision,
             "line": line, "defect": defect, "expected_outcome": outcome or expected_outcome(defect)}
        )

    def close(self) -> None:
        for writer in self.api_writers.values():
            writer.close()
        path = self.out / "manifest" / "defects.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, MANIFEST_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(self.manifest)


def _render_files(records: pd.DataFrame, family, order, starts, ends, styles: list[DropStyle]) -> list[pa.Table]:
    """Each file's cells, files being runs of `order`. Every cell is rendered once in the plain style; the few
    columns a style changes are rendered once more, only for the rows of the files in that style."""
    plain = render(records, family, DropStyle()).take(order)
    by_variant: dict[tuple, list[int]] = defaultdict(list)
    for i, style in enumerate(styles):
        if style.money_unit or style.thousands:
            by_variant[(style.money_unit, style.thousands)].append(i)
    out: list[pa.Table] = [plain.slice(start, end - start) for start, end in zip(starts, ends)]
    for (unit, thousands), files in by_variant.items():
        rows_of = [np.arange(starts[i], ends[i]) for i in files]
        index = np.concatenate(rows_of)
        variant = render(records.iloc[order[index]], family, DropStyle(money_unit=unit, thousands=thousands),
                         plain.take(index), unit_row=False)
        offset = 0
        for i, file_rows in zip(files, rows_of):
            out[i] = with_unit_row(variant.slice(offset, len(file_rows)), family, unit)
            offset += len(file_rows)
    return out


def _typed(records: pd.DataFrame, family) -> pa.Table:
    """Records as the family's Arrow schema (what the reporting system stores)."""
    arrays = []
    for f in family.arrow_schema():
        col = records[f.name]
        if pa.types.is_decimal(f.type):
            values = pa.array(np.round(col.to_numpy(dtype="float64", na_value=np.nan), 4), pa.float64(), from_pandas=True)
            arrays.append(values.cast(f.type, safe=False))
        elif pa.types.is_date(f.type):
            arrays.append(pa.array(pd.to_datetime(col).to_numpy(dtype="datetime64[D]"), pa.date32(), from_pandas=True))
        elif pa.types.is_timestamp(f.type):
            arrays.append(pa.array(pd.to_datetime(col).dt.tz_convert("UTC"), f.type))
        elif pa.types.is_boolean(f.type):
            arrays.append(pa.array(col.to_numpy(dtype=object), pa.bool_(), from_pandas=True))
        else:
            arrays.append(pa.array(col.to_numpy(dtype=object), f.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=family.arrow_schema())


def _latest(base: pd.DataFrame, fixes: pd.DataFrame) -> pd.DataFrame:
    if fixes.empty:
        return base
    return pd.concat([base, fixes]).drop_duplicates("filing_id", keep="last")


def generate(
    out: Path,
    scale: str = "sample",
    years: range = range(2021, 2024),
    seed: int = 42,
    channel: str = "files",
    on_progress: Callable[[int, int], None] | None = None,
) -> GenerateSummary:
    if channel not in CHANNELS:
        raise ValueError(f"channel {channel!r}: one of {', '.join(CHANNELS)}")
    targets = {year: contract_targets(year) for year in years}  # fail before writing anything
    rng = np.random.default_rng(seed)
    params = SCALES[scale]
    world = build_world(rng, years, params)
    world.enterprises = pilot_codes(rng, world.enterprises)
    summary = GenerateSummary()
    output = _Output(out, channel, rng, summary)
    last_year = years.stop - 1
    tenancies = []
    steps, done = len(years) * 4, 0
    for year in years:
        enterprises = enterprise_reports(rng, world, year)
        enterprises["_pilot"] = enterprises["uscc"].isin(world.enterprises.loc[world.enterprises["_pilot"], "uscc"])
        enterprise_fixes = corrections(rng, enterprises, "enterprise", CORRECTION_SHARE["enterprise"], last_year)
        latest = _latest(enterprises, enterprise_fixes)
        incubators, tenancy = carrier_reports(rng, world, year, latest)
        tenancies.append(tenancy)
        count, amount, assumed = targets[year]
        contracts = contract_records(rng, world, year, latest, max(1, round(count * params.national_share)), amount * params.national_share)
        zones = zone_reports(rng, world, year, latest)
        summary.contracts[year] = {"count": len(contracts), "amount_yi": float(contracts["amount"].sum()) / 10_000,
                                   "count_assumed": assumed}
        for family, base in (("enterprise", enterprises), ("incubator", incubators), ("contract", contracts), ("zone", zones)):
            fixes = enterprise_fixes if family == "enterprise" else corrections(rng, base, family, CORRECTION_SHARE[family], last_year)
            output.add(family, inject_records(rng, pd.concat([base, fixes], ignore_index=True), family))
            done += 1
            if on_progress:
                on_progress(done, steps)
    output.close()
    truth = Path(out) / "manifest"
    pd.concat(tenancies).to_parquet(truth / "tenancy.parquet", index=False)
    (truth / "summary.json").write_text(
        json.dumps(
            {"scale": scale, "years": [years.start, years.stop - 1], "seed": seed, "channel": channel,
             "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(), "files": summary.files,
             "records": summary.records, "defects": summary.defects,
             "by_family": {f: dict(v) for f, v in summary.by_family.items()}, "contracts": summary.contracts},
            ensure_ascii=False, indent=2, default=str,
        ),
        encoding="utf-8",
    )
    return summary
