"""`ndc generate`: a seeded, consistent set of filings for all four families, as file drops and an API store.

    {out}/landing/{family}/{period}/{province}_{yyyymmdd}.csv|.xlsx   provincial file drops
    {out}/api/{family}.parquet                                        the reporting system's store (`ndc serve-api`)
    {out}/manifest/defects.csv                                        every injected defect and its expected outcome
    {out}/manifest/summary.json                                       what was generated, per family and year
"""

from __future__ import annotations

import csv
import ctypes
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingestion.contracts import FAMILIES
from ingestion.durable import write_json_atomically
from ingestion.reference import rows
from simulator.defects import (
    FILE_DEFECTS,
    damage_file,
    expected_outcome,
    inject_records,
    pilot_codes,
)
from simulator.drops import (
    ENCODINGS,
    Cells,
    DropStyle,
    encode_parts,
    render,
    styled_keys,
    unit_row,
    write_bytes,
)
from simulator.filings import (
    DELIVERY_ORDER,
    incubator_reports,
    contract_records,
    corrections,
    enterprise_reports,
    with_revisions,
    zone_reports,
)
from simulator.quarterly import falling_year_to_date, panel, quarterly_reports
from simulator.world import SCALES, build_world

CHANNELS = ("files", "api", "both")
API_SHARE_WHEN_BOTH = 0.5  # with --channel both, records go to the API or a file drop at random, half each
CORRECTION_SHARE = {"enterprise": 0.03, "incubator": 0.03, "contract": 0.01, "zone": 0.05}
QUARTERLY_STREAM = 4  # the quarterly reports' own generator stream (simulator/quarterly.py)
YTD_DEFECT_STREAM = 5  # the falling year-to-date reports' stream: drawing them changes no other record
XLSX_SHARE = 0.04
RENDER_BATCH_ROWS = 100_000
XLSX_MAX_ROWS = 200  # provinces send spreadsheets for small deliveries; large ones come as CSV
MANIFEST_COLUMNS = ["family", "channel", "source", "filing_id", "revision", "line", "defect", "expected_outcome"]


@dataclass
class GenerateSummary:
    files: int = 0
    records: int = 0
    by_family: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    contracts: dict[int, dict[str, float]] = field(default_factory=dict)  # year -> count, amount (亿元)
    defects: int = 0


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
    """Writes a family-year's records to file drops and the API store, and keeps the defect manifest.

    Files are encoded and written by two threads while the next family is drawn (Arrow's CSV writer and the file
    system release the GIL); `close()` waits for them.
    """

    def __init__(self, out: Path, channel: str, rng: np.random.Generator, summary: GenerateSummary):
        self.out, self.channel, self.rng, self.summary = Path(out), channel, rng, summary
        self.manifest: list[tuple] = []
        self.api_writers: dict[str, pq.ParquetWriter] = {}
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.pending: list[Future] = []

    def add(self, family_name: str, records: pa.Table, extra: pa.Table) -> None:
        """`records` in delivery order, `extra` (revisions and duplicates) in any order."""
        n = len(records) + len(extra)
        if not n:
            return
        if self.channel == "both":
            main_api = self.rng.random(len(records)) < API_SHARE_WHEN_BOTH
            extra_api = self.rng.random(len(extra)) < API_SHARE_WHEN_BOTH
        else:
            main_api = np.full(len(records), self.channel == "api")
            extra_api = np.full(len(extra), self.channel == "api")
        # The reporting system holds each revision once; a duplicate is a province sending a record again.
        extra_api &= ~extra["_duplicate"].to_numpy(zero_copy_only=False)
        self._api(family_name, _rows(records, main_api), _rows(extra, extra_api))
        self._files(family_name, _rows(records, ~main_api), _rows(extra, ~extra_api).sort_by(DELIVERY_ORDER))
        self.summary.records += n
        self.summary.by_family[family_name]["records"] += n

    def _api(self, family_name: str, records: pa.Table, extra: pa.Table) -> None:
        records = pa.concat_tables([records, extra])
        if not len(records):
            return
        family = FAMILIES[family_name]
        if family_name not in self.api_writers:
            path = self.out / "api" / f"{family_name}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            self.api_writers[family_name] = pq.ParquetWriter(path, family.arrow_schema(), compression="zstd")
        self.api_writers[family_name].write_table(_typed(records, family))
        hit = records.filter(pc.is_valid(records["_defect"]))
        for filing_id, revision, defect in zip(*(hit[c].to_pylist() for c in ("filing_id", "revision", "_defect"))):
            self._note(family_name, "api", f"api/{family_name}", filing_id, revision, None, defect)
        self.summary.by_family[family_name]["api"] += len(records)

    def _files(self, family_name: str, records: pa.Table, extra: pa.Table) -> None:
        """One file per province and China-time submission day: a run of `records` and a run of `extra`."""
        family = FAMILIES[family_name]
        main_key, extra_key = _file_keys(records), _file_keys(extra)
        if np.any(np.diff(main_key) < 0):
            raise ValueError(f"{family_name} records are not in delivery order")
        keys = np.union1d(main_key, extra_key)
        if not len(keys):
            return
        both = _concat([records, extra])
        period = int(both["period"][0].as_py())
        main_at = np.searchsorted(main_key, keys), np.searchsorted(main_key, keys, "right")
        extra_at = np.searchsorted(extra_key, keys), np.searchsorted(extra_key, keys, "right")
        main_size, extra_size = main_at[1] - main_at[0], extra_at[1] - extra_at[0]
        sizes = main_size + extra_size
        styles = _styles(self.rng, sizes)
        file_defects = [self._file_defect(style) for style in styles]
        cut_seeds = self.rng.integers(0, 2**32, len(keys))
        sources = [
            f"{family_name}/{period}/{key // 100_000:02d}0000_"
            f"{np.datetime64(int(key % 100_000), 'D').astype(str).replace('-', '')}.{style.fmt}"
            for key, style in zip(keys, styles)
        ]
        # The writer threads render, encode and write a batch of files at a time, while this thread goes on
        # drawing the next family.
        for files in _batches(sizes, RENDER_BATCH_ROWS):
            # A batch is a run of `records` then a run of `extra`; a file is its part of each.
            main_from, extra_from = main_at[0][files[0]], extra_at[0][files[0]]
            main_rows = main_at[1][files[-1]] - main_from
            part = _concat([records.slice(main_from, main_rows),
                            extra.slice(extra_from, extra_at[1][files[-1]] - extra_from)])
            spans = [(main_at[0][files] - main_from, main_at[1][files] - main_from),
                     (main_rows + extra_at[0][files] - extra_from, main_rows + extra_at[1][files] - extra_from)]
            deliveries = [(styles[i], file_defects[i], int(cut_seeds[i]), self.out / "landing" / sources[i]) for i in files]
            self.pending.append(self.pool.submit(_write_batch, part, family, spans, deliveries))

        first_line = np.array([3 if style.money_unit else 2 for style in styles])
        for i, defect in enumerate(file_defects):
            if defect:
                self._note(family_name, "files", sources[i], None, None, None, defect)
        defective = np.flatnonzero(pc.is_valid(both["_defect"]).to_numpy(zero_copy_only=False))
        file_of = np.searchsorted(keys, np.concatenate([main_key, extra_key])[defective])
        # Line in the file: the header (and unit) rows, then the file's main run, then its extra run.
        in_extra = defective >= len(records)
        position = np.where(in_extra, main_size[file_of] + defective - len(records) - extra_at[0][file_of],
                            defective - main_at[0][file_of])
        picked = both.take(defective)
        for row, (filing_id, revision, defect) in enumerate(
            zip(*(picked[c].to_pylist() for c in ("filing_id", "revision", "_defect")))
        ):
            i = file_of[row]
            self._note(family_name, "files", sources[i], filing_id, revision, int(first_line[i] + position[row]),
                       defect, "rejected" if file_defects[i] else None)
        self.summary.files += len(keys)
        self.summary.by_family[family_name]["files"] += len(keys)

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
            (family, channel, source, filing_id, revision, line, defect, outcome or expected_outcome(defect))
        )

    def close(self) -> None:
        for future in self.pending:
            future.result()
        self.pool.shutdown()
        for writer in self.api_writers.values():
            writer.close()
        path = self.out / "manifest" / "defects.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(MANIFEST_COLUMNS)
            writer.writerows(self.manifest)


def _concat(tables: list[pa.Table]) -> pa.Table:
    """Tables end to end, leaving out empty ones: Arrow's CSV writer (pyarrow 26) writes garbage for a table with
    an empty chunk."""
    return pa.concat_tables([t for t in tables if t.num_rows] or tables[:1])


def _batches(sizes: np.ndarray, rows: int) -> list[np.ndarray]:
    """Consecutive runs of file indices holding about `rows` records each."""
    batch = np.cumsum(sizes) // rows
    return np.split(np.arange(len(sizes)), np.flatnonzero(np.diff(batch)) + 1)


def _rows(table: pa.Table, mask: np.ndarray) -> pa.Table:
    if mask.all():
        return table
    return table.filter(pa.array(mask))


def _file_keys(records: pa.Table) -> np.ndarray:
    """Which file each record goes to: province and China-time submission day, as one sortable number."""
    return records["_province"].to_numpy() * 100_000 + records["_day"].to_numpy()


def _write_batch(records: pa.Table, family, spans, deliveries: list[tuple]) -> None:
    """Render a batch of files and write each: `deliveries` holds each file's style, defect, seed and path."""
    id_header = family.field("filing_id").header
    styles = [style for style, _, _, _ in deliveries]
    for cells, (style, defect, cut_seed, path) in zip(_render_files(records, family, spans, styles), deliveries):
        data = encode_parts(cells, style)
        if defect:
            data = damage_file(np.random.default_rng(cut_seed), b"".join(data), defect, style.fmt, id_header)
        write_bytes(data, path)


def _render_files(records: pa.Table, family, spans, styles: list[DropStyle]) -> list[Cells]:
    """Each file's cells, a file being the rows of its spans. Every cell is prepared once in the plain style; the
    money columns a style changes are prepared once more, only for the rows of the files in that style."""
    plain = render(records, family, DropStyle()).table
    (main_start, main_end), (extra_start, extra_end) = spans

    def rows_of(i: int) -> np.ndarray:
        return np.r_[main_start[i]:main_end[i], extra_start[i]:extra_end[i]]

    def cells_of(i: int) -> Cells:
        return Cells(_concat([plain.slice(main_start[i], main_end[i] - main_start[i]),
                              plain.slice(extra_start[i], extra_end[i] - extra_start[i])]))

    out = [cells_of(i) for i in range(len(styles))]
    by_variant: dict[tuple, list[int]] = defaultdict(list)
    for i, style in enumerate(styles):
        if style.money_unit or style.thousands:
            by_variant[(style.money_unit, style.thousands)].append(i)
    money = records.select(styled_keys(family))
    for (unit, thousands), files in by_variant.items():
        index = [rows_of(i) for i in files]
        variant = render(money.take(np.concatenate(index)), family, DropStyle(money_unit=unit, thousands=thousands))
        offset = 0
        for i, file_rows in zip(files, index):
            cells = out[i].with_columns(variant.table.slice(offset, len(file_rows)))
            out[i] = Cells(cells.table, unit_row(family, tuple(cells.table.column_names), unit))
            offset += len(file_rows)
    return out


def _typed(records: pa.Table, family) -> pa.Table:
    """Records as the family's Arrow schema (what the reporting system stores)."""
    arrays = []
    for f in family.arrow_schema():
        col = records[f.name]
        if pa.types.is_decimal(f.type):
            col = pc.round(pc.cast(col, pa.float64()), 4).cast(f.type, safe=False)
        arrays.append(col.cast(f.type))
    return pa.Table.from_arrays(arrays, schema=family.arrow_schema())


PR_SET_THP_DISABLE, PR_GET_THP_DISABLE = 41, 42  # linux/prctl.h


@contextmanager
def _without_transparent_huge_pages():
    """Generation allocates and frees many short-lived arrays of a few megabytes. With transparent huge pages each
    of them faults in freshly zeroed 2 MiB pages, and zeroing took a fifth of all CPU samples of a national year
    (`perf record`: clear_page_erms). Databases advise the same for the same reason. Linux only; elsewhere, or if
    the call is refused, nothing changes."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
        before = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0)
        changed = before == 0 and prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        changed = False
    try:
        yield
    finally:
        if changed:
            prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0)


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
    with _without_transparent_huge_pages():
        return _generate(out, scale, years, seed, channel, targets, on_progress)


def _generate(out: Path, scale: str, years: range, seed: int, channel: str, targets: dict,
              on_progress: Callable[[int, int], None] | None) -> GenerateSummary:
    rng = np.random.default_rng(seed)
    params = SCALES[scale]
    world = build_world(rng, years, params)
    pilot_codes(rng, world.enterprises)
    summary = GenerateSummary()
    output = _Output(out, channel, rng, summary)
    last_year = years.stop - 1
    tenancies = []
    steps, done = len(years) * 5, 0
    # The quarterly family draws from a stream of its own, so the other families' filings stay as they were.
    quarterly_rng = np.random.default_rng([seed, QUARTERLY_STREAM])
    monitoring_points = panel(quarterly_rng, world)
    ytd_defect_rng = np.random.default_rng([seed, YTD_DEFECT_STREAM])

    def deliver(family: str, base: pa.Table, fixes: pa.Table | None = None, stream: np.random.Generator = rng) -> None:
        """Hand a family-year to the output as soon as it is drawn, so its files are written meanwhile."""
        nonlocal done
        if fixes is None:
            fixes = corrections(stream, base, family, CORRECTION_SHARE[family], last_year)[0]
        base, base_copies = inject_records(stream, base, family)
        fixes, fix_copies = inject_records(stream, fixes, family)
        output.rng = stream
        try:
            output.add(family, base, pa.concat_tables([fixes, base_copies, fix_copies]))
        finally:
            output.rng = rng
        done += 1
        if on_progress:
            on_progress(done, steps)

    try:
        for year in years:
            filed = enterprise_reports(rng, world, year)
            enterprise_fixes, fixed_rows = corrections(rng, filed.table, "enterprise", CORRECTION_SHARE["enterprise"], last_year)
            latest = with_revisions(filed, enterprise_fixes, fixed_rows)
            deliver("enterprise", filed.table, enterprise_fixes)
            incubators, tenancy = incubator_reports(rng, world, year, latest)
            tenancies.append(tenancy)
            deliver("incubator", incubators)
            zones = zone_reports(rng, world, year, latest)
            deliver("zone", zones)
            count, amount, assumed = targets[year]
            contracts = contract_records(rng, world, year, latest, max(1, round(count * params.national_share)),
                                         amount * params.national_share)
            summary.contracts[year] = {"count": len(contracts), "amount_yi": pc.sum(contracts["amount"]).as_py() / 10_000,
                                       "count_assumed": assumed}
            deliver("contract", contracts)
            reports, report_fixes = quarterly_reports(quarterly_rng, world, year, latest, zones, monitoring_points)
            deliver("quarterly", falling_year_to_date(ytd_defect_rng, reports, report_fixes), report_fixes,
                    stream=quarterly_rng)
    finally:
        output.close()
    truth = Path(out) / "manifest"
    pq.write_table(pa.concat_tables(tenancies), truth / "tenancy.parquet")
    write_json_atomically(
        truth / "summary.json",
        {"scale": scale, "years": [years.start, years.stop - 1], "seed": seed, "channel": channel,
         "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(), "files": summary.files,
         "records": summary.records, "defects": summary.defects,
         "by_family": {f: dict(v) for f, v in summary.by_family.items()}, "contracts": summary.contracts},
        indent=2, default=str,
    )
    return summary
