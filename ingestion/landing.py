"""The raw layer: landed Parquet per family and period, quarantine, the delivery ledger, and the `raw` schema.

Layout under the raw root (`$NDC_HOME/raw`):

    {family}/{period}/{channel}__{source}.parquet   landed rows, one file per delivered source and period
    _quarantine/{family}/{channel}__{source}.parquet records that broke a rule
    _deliveries/{family}.jsonl                       one line per attempt: what was read, landed, quarantined

A source's Parquet files are replaced as a whole (write to a temporary name, then rename), so a re-delivered file
replaces exactly its own earlier rows, and the ledger line is written last: a run killed half-way leaves a source
that the next run simply lands again.
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingestion.contracts import FAMILIES, QUARANTINE_SCHEMA, Family, landing_schema
from ingestion.durable import temporary_beside, write_json_atomically
from ingestion.escaping import excerpt, needs_escaping, printable
from ingestion.file_drops import DeliveryRejected, is_delivery, read_delivery, sha256_of
from ingestion.sql import ident, literal, literal_list
from ingestion.typing import TypedBatch, type_batch

log = logging.getLogger(__name__)

CHANNELS = ("files", "api")
LEDGER_COLUMNS = {
    "family": "VARCHAR",
    "channel": "VARCHAR",
    "source": "VARCHAR",
    "sha256": "VARCHAR",
    "size": "BIGINT",
    "mtime_ns": "BIGINT",
    "status": "VARCHAR",
    "encoding": "VARCHAR",
    "rows_read": "BIGINT",
    "rows_landed": "BIGINT",
    "rows_quarantined": "BIGINT",
    "message": "VARCHAR",
    "loaded_at": "TIMESTAMPTZ",
}


# A full disk, a user's disk quota, or the process's file-size limit (RLIMIT_FSIZE).
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class RawDiskFull(OSError):
    """The raw layer's disk filled up while landing. Nothing of the batch in progress was acknowledged, so the next
    run, with space freed, lands it again; what earlier batches landed is intact."""


@dataclass(frozen=True)
class DeliveryOutcome:
    family: str
    channel: str
    source: str
    sha256: str
    size: int
    mtime_ns: int
    status: str  # "landed" or "rejected"
    encoding: str | None
    rows_read: int
    rows_landed: int
    rows_quarantined: int
    message: str | None
    loaded_at: str


@dataclass
class LandingSummary:
    family: str
    landed: list[DeliveryOutcome]
    rejected: list[DeliveryOutcome]
    unchanged: int

    @property
    def rows_landed(self) -> int:
        return sum(o.rows_landed for o in self.landed)

    @property
    def rows_quarantined(self) -> int:
        return sum(o.rows_quarantined for o in self.landed)


def _safe_name(source: str) -> str:
    return source.replace("/", "~")


class RawStore:
    """The raw layer of one `NDC_HOME`."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def family_dir(self, family: str) -> Path:
        return self.root / family

    def landed(self, family: str, channel: str = "*") -> list[Path]:
        """The family's landed Parquet files of one channel (every channel by default), as its raw views read them."""
        return sorted(self.family_dir(family).glob(f"*/{channel}__*.parquet"))

    def ledger_path(self, family: str) -> Path:
        return self.root / "_deliveries" / f"{family}.jsonl"

    def quarantine_path(self, family: str, channel: str, source: str) -> Path:
        return self.root / "_quarantine" / family / f"{channel}__{_safe_name(source)}.parquet"

    def period_stamps(self, family: str) -> dict[int, int]:
        """Each period folder of a family and its modification time (ns). Landing only ever adds, replaces or removes
        files by renaming, which changes the folder's time: two stamps differ exactly where rows changed."""
        root = self.family_dir(family)
        if not root.is_dir():
            return {}
        return {int(p.name): p.stat().st_mtime_ns for p in root.iterdir() if p.is_dir() and p.name.isdigit()}

    def ledger(self, family: str) -> list[dict]:
        path = self.ledger_path(family)
        if not path.exists():
            return []
        entries = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                # A line cut by a crash: its source was not acknowledged and will be landed again.
                continue
        return entries

    def last_attempts(self, family: str) -> dict[str, dict]:
        return {e["source"]: e for e in self.ledger(family)}

    def record(self, *outcomes: DeliveryOutcome) -> None:
        """Acknowledge attempts in the ledger; written after their rows, so a crash before it means 'land again'.

        Written through the page cache: a killed process loses nothing it wrote, and one fsync per batch
        (not per file) keeps the ledger on disk across a power cut."""
        for family in {o.family for o in outcomes}:
            path = self.ledger_path(family)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a+", encoding="utf-8") as fh:
                if fh.tell() and _ends_without_newline(path):
                    fh.write("\n")  # a line cut by a crash or a full disk stays alone, unreadable and skipped
                fh.writelines(json.dumps(asdict(o), ensure_ascii=False) + "\n" for o in outcomes if o.family == family)
                fh.flush()
                os.fsync(fh.fileno())

    def journal_path(self, family: str) -> Path:
        return self.root / "_journal" / f"{family}-files.json"

    def commit_files(
        self,
        family: Family,
        typed: TypedBatch,
        deliveries: list[tuple[str, str, int, int, str]],
        loaded_at: dt.datetime,
        redelivered: set[str] = frozenset(),
    ) -> list[DeliveryOutcome]:
        """Write a batch of delivered files into shared Parquet files (one per period, one of quarantined
        records), take re-delivered files' earlier rows out of raw, then acknowledge every file.

        One file per delivery cost ~2 ms of Parquet overhead each, more than landing its rows. A journal lists
        the batch's files and acknowledgements first, so `recover_files` can finish or undo a crashed batch."""
        landed_rows = _counts(typed.landed)
        quarantined_rows = _counts(typed.quarantined)
        outcomes = [
            DeliveryOutcome(
                family=family.name, channel="files", source=source, sha256=sha, size=size, mtime_ns=mtime_ns,
                status="landed", encoding=encoding,
                rows_read=landed_rows.get(source, 0) + quarantined_rows.get(source, 0),
                rows_landed=landed_rows.get(source, 0), rows_quarantined=quarantined_rows.get(source, 0),
                message=None, loaded_at=loaded_at.isoformat(),
            )
            for source, sha, size, mtime_ns, encoding in deliveries
        ]
        stem = f"files__batch-{uuid.uuid4().hex[:16]}.parquet"
        writes: list[tuple[pa.Table, Path]] = []
        if typed.landed.num_rows:
            for period in sorted(pc.unique(typed.landed.column("period")).to_pylist()):
                part = typed.landed.filter(pc.equal(typed.landed.column("period"), period))
                writes.append((part, self.family_dir(family.name) / str(period) / stem))
        if typed.quarantined.num_rows:
            writes.append((typed.quarantined, self.root / "_quarantine" / family.name / stem))
        journal = self.journal_path(family.name)
        write_json_atomically(journal, {"files": [str(p) for _, p in writes], "outcomes": [asdict(o) for o in outcomes]})
        with ThreadPoolExecutor(max_workers=2) as pool:  # Parquet encoding releases the GIL
            list(pool.map(lambda w: _write_atomically(*w), writes))
        if redelivered:
            self._drop_sources(family.name, "files", redelivered, keep={p for _, p in writes})
        self.record(*outcomes)
        journal.unlink()
        return outcomes

    def recover_files(self, family: str) -> str | None:
        """Finish or undo a file batch a crash interrupted. Its data files were all written before the first
        acknowledgement, so any acknowledgement means: finish; none means: undo, and the files land again."""
        journal = self.journal_path(family)
        if not journal.exists():
            return None
        entry = json.loads(journal.read_text(encoding="utf-8"))
        outcomes = [DeliveryOutcome(**o) for o in entry["outcomes"]]
        acknowledged = {(e["source"], e["sha256"]) for e in self.ledger(family) if e["status"] == "landed"}
        if any((o.source, o.sha256) in acknowledged for o in outcomes):
            self.record(*(o for o in outcomes if (o.source, o.sha256) not in acknowledged))
            verdict = "finished"
        else:
            for path in entry["files"]:
                Path(path).unlink(missing_ok=True)
            verdict = "rolled back"
        journal.unlink()
        return verdict

    def _drop_sources(self, family: str, channel: str, sources: set[str], keep: set[Path]) -> None:
        """Rewrite the raw files that hold rows of `sources` without them (a re-delivery replaces its rows)."""
        candidates = [*self.landed(family, channel),
                      *(self.root / "_quarantine" / family).glob(f"{channel}__*.parquet")]
        wanted = pa.array(sorted(sources), pa.string())
        for path in candidates:
            if path in keep:
                continue
            held = pq.read_table(path, columns=["_source"]).column("_source")
            if not pc.any(pc.is_in(held, wanted)).as_py():
                continue
            table = pq.read_table(path)
            rest = table.filter(pc.invert(pc.is_in(table.column("_source"), wanted)))
            if rest.num_rows:
                _write_atomically(rest, path)
            else:
                path.unlink()

    def remove_source(self, family: str, channel: str, source: str) -> None:
        """Take a source's rows out of raw (its landed and quarantined files)."""
        stem = f"{channel}__{_safe_name(source)}.parquet"
        for path in self.family_dir(family).glob(f"*/{stem}"):
            path.unlink()
        self.quarantine_path(family, channel, source).unlink(missing_ok=True)

    def replace_source(self, family: Family, channel: str, source: str, landed: pa.Table, quarantined: pa.Table) -> None:
        """Make `source`'s rows in raw exactly these: old files of the source go, new ones appear."""
        stem = f"{channel}__{_safe_name(source)}.parquet"
        old = set(self.family_dir(family.name).glob(f"*/{stem}"))
        new: set[Path] = set()
        periods = pc.unique(landed.column("period")).to_pylist() if landed.num_rows else []
        for period in sorted(periods):
            part = landed.filter(pc.equal(landed.column("period"), period))
            target = self.family_dir(family.name) / str(period) / stem
            _write_atomically(part, target)
            new.add(target)
        q_target = self.quarantine_path(family.name, channel, source)
        if quarantined.num_rows:
            _write_atomically(quarantined, q_target)
        elif q_target.exists():
            q_target.unlink()
        for stale in old - new:
            stale.unlink()


def touched_periods(before: dict[int, int], after: dict[int, int]) -> list[int]:
    """The periods whose landed rows changed between two `RawStore.period_stamps`: new, replaced or removed rows,
    corrections of earlier years included."""
    return sorted(period for period in before.keys() | after.keys() if before.get(period) != after.get(period))


def _ends_without_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) != b"\n"


def _counts(table: pa.Table) -> dict[str, int]:
    if not table.num_rows:
        return {}
    counts = pc.value_counts(table.column("_source").combine_chunks())
    return dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()))


def split_by_source(table: pa.Table) -> dict[str, pa.Table]:
    if not table.num_rows:
        return {}
    table = table.sort_by([("_source", "ascending"), ("_row_number", "ascending")])
    sources = table.column("_source")
    out, start = {}, 0
    for value, length in zip(*_run_lengths(sources)):
        out[value] = table.slice(start, length)
        start += length
    return out


def _run_lengths(column: pa.ChunkedArray) -> tuple[list[str], list[int]]:
    encoded = pc.run_end_encode(column.combine_chunks())
    ends = encoded.run_ends.to_pylist()
    return encoded.values.to_pylist(), [e - s for s, e in zip([0] + ends[:-1], ends)]


def _write_atomically(table: pa.Table, target: Path) -> None:
    """Write under a temporary name and rename: readers see the old file or the new one, never half of one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_beside(target)
    try:
        pq.write_table(table, tmp, compression="snappy")  # small files: snappy costs a third less than zstd here
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def scan_landing(landing: Path, family: str) -> list[tuple[str, Path]]:
    """Every delivery of a family in the landing folder, as (source, path), in a stable order. The source is the
    path below the landing folder, printable (`printable`): it names the file in the ledger, messages and logs.
    A symbolic link, to a file or a folder, is listed (to be refused on record) and never followed."""
    base = Path(landing) / family
    if not base.is_dir():
        return []
    found = []
    for folder, dirs, files in os.walk(base):  # followlinks=False: a linked folder is not entered
        here = Path(folder)
        entries = [*files, *(d for d in dirs if (here / d).is_symlink())]
        found += [here / name for name in entries if is_delivery(here / name)]
    return [(printable(p.relative_to(landing).as_posix()), p) for p in sorted(found)]


def _refusal(path: Path, landing: Path) -> str | None:
    """Why a delivery is refused before it is opened: a link could point anywhere (a secrets file, a device), and a
    name that is no UTF-8 or holds control characters cannot be shown or stored as it is."""
    if path.is_symlink():
        return "is a symbolic link; deliveries are regular files, and a link is never followed"
    name = path.relative_to(landing).as_posix()
    if any(0xDC80 <= ord(c) <= 0xDCFF for c in name):
        return ("the file name is not valid UTF-8 (shown with its bytes escaped; GBK?): name files "
                "{province}_{yyyymmdd}.csv or .xlsx in UTF-8")
    if any(needs_escaping(c) for c in name):
        return ("the file name holds control characters (shown escaped): name files {province}_{yyyymmdd}.csv "
                "or .xlsx")
    return None


def pending_deliveries(landing: Path, store: RawStore, families: Iterable[str] = FAMILIES) -> list[tuple[str, int, int]]:
    """Deliveries in the landing folder that the ledger has not seen as they are now: (source, size, mtime_ns).

    Cheap (no hashing): what a sensor polls. A file touched but unchanged is listed here and then found unchanged
    by its sha256 when landed."""
    pending = []
    for family in families:
        last = store.last_attempts(family)
        for source, path in scan_landing(landing, family):
            stat = path.lstat()
            seen = last.get(source)
            if not seen or seen["size"] != stat.st_size or seen["mtime_ns"] != stat.st_mtime_ns:
                pending.append((source, stat.st_size, stat.st_mtime_ns))
    return pending


BATCH_ROWS = 250_000  # rows typed per query: large enough to amortise planning, small enough for memory


@dataclass
class _Pending:
    """Deliveries read and waiting to be typed together (they declared the same units)."""

    tables: list[pa.Table]
    deliveries: list[tuple[str, str, int, int, str]]  # source, sha256, size, mtime_ns, encoding
    rows: int = 0


def land_file_drops(
    landing: Path,
    store: RawStore,
    family_name: str,
    on_progress: Callable[[int, int, DeliveryOutcome | None], None] | None = None,
    batch_rows: int = BATCH_ROWS,
    max_bytes: int | None = None,
) -> LandingSummary:
    """Land every new or changed file of one family. Unchanged files are skipped; a rejected file is recorded
    and leaves what the same source landed before untouched. A file over `max_bytes` (default
    `file_drops.MAX_DELIVERY_BYTES`) is rejected unread."""
    try:
        return _land_file_drops(landing, store, family_name, on_progress, batch_rows, max_bytes)
    except OSError as exc:
        if exc.errno not in DISK_FULL or isinstance(exc, RawDiskFull):
            raise
        raise RawDiskFull(
            exc.errno,
            f"the raw layer's disk is full ({exc.strerror}) while landing {family_name} into {store.root}: "
            f"{exc.filename or 'a raw file'} could not be written. Nothing of the batch being written was "
            "acknowledged and what was landed before is intact; free space (or move NDC_HOME) and run again to "
            "land the rest",
        ) from exc


def _land_file_drops(
    landing: Path,
    store: RawStore,
    family_name: str,
    on_progress: Callable[[int, int, DeliveryOutcome | None], None] | None,
    batch_rows: int,
    max_bytes: int | None,
) -> LandingSummary:
    family = FAMILIES[family_name]
    store.recover_files(family_name)
    last = store.last_attempts(family_name)
    landed_before = {e["source"] for e in store.ledger(family_name) if e["status"] == "landed"}
    deliveries = scan_landing(landing, family_name)
    summary = LandingSummary(family_name, [], [], 0)
    pending: dict[tuple, _Pending] = {}
    loaded_at = dt.datetime.now(dt.UTC)

    def flush(key: tuple) -> None:
        batch = pending.pop(key)
        typed = type_batch(family, pa.concat_tables(batch.tables, promote_options="default"), dict(key))
        redelivered = {source for source, *_ in batch.deliveries if source in landed_before}
        for outcome in store.commit_files(family, typed, batch.deliveries, loaded_at, redelivered):
            summary.landed.append(outcome)
            if on_progress:
                on_progress(len(summary.landed) + len(summary.rejected), len(deliveries), outcome)

    def reject(exc: DeliveryRejected, sha: str, stat: os.stat_result) -> None:
        log.warning("rejected %s", exc)
        outcome = DeliveryOutcome(
            family=family_name, channel="files", source=exc.source, sha256=sha, size=stat.st_size,
            mtime_ns=stat.st_mtime_ns, status="rejected", encoding=None, rows_read=0, rows_landed=0,
            rows_quarantined=0, message=str(exc), loaded_at=loaded_at.isoformat(),
        )
        store.record(outcome)
        summary.rejected.append(outcome)

    for source, path in deliveries:
        stat = path.lstat()  # a link's own size and time: its target is never read
        previous = last.get(source)
        if previous and previous["size"] == stat.st_size and previous["mtime_ns"] == stat.st_mtime_ns:
            summary.unchanged += 1
            continue
        refusal = _refusal(path, landing)
        if refusal:
            reject(DeliveryRejected(source, refusal), hashlib.sha256(b"").hexdigest(), stat)
            continue
        sha = sha256_of(path)
        if previous and previous["sha256"] == sha:
            summary.unchanged += 1
            continue
        try:
            parsed = read_delivery(path, family, source, max_bytes)
        except DeliveryRejected as exc:
            reject(exc, sha, stat)
            continue
        except (OSError, ValueError, csv.Error, pa.ArrowException) as exc:
            if isinstance(exc, OSError) and exc.errno in DISK_FULL:
                raise
            # Hostile input is normal input: a file a parser chokes on in a way not foreseen is refused on record
            # (its problem short and escaped), and the family's other files land.
            reject(DeliveryRejected(source, f"cannot be read ({type(exc).__name__}: {excerpt(str(exc), 200)})"),
                   sha, stat)
            continue
        key = tuple(sorted(parsed.unit_factors.items()))
        batch = pending.setdefault(key, _Pending([], []))
        batch.tables.append(_with_lineage(parsed.table, "files", source, sha, loaded_at))
        batch.deliveries.append((source, sha, stat.st_size, stat.st_mtime_ns, parsed.encoding))
        batch.rows += parsed.table.num_rows
        if batch.rows >= batch_rows:
            flush(key)
    for key in list(pending):
        flush(key)
    return summary


def _with_lineage(table: pa.Table, channel: str, source: str, sha: str, loaded_at: dt.datetime) -> pa.Table:
    n = table.num_rows
    return (
        table.append_column("_channel", pa.repeat(pa.scalar(channel, pa.string()), n))
        .append_column("_source", pa.repeat(pa.scalar(source, pa.string()), n))
        .append_column("_source_sha256", pa.repeat(pa.scalar(sha, pa.string()), n))
        .append_column("_loaded_at", pa.repeat(pa.scalar(loaded_at, pa.timestamp("us", tz="UTC")), n))
    )


@cache
def _duckdb_types(schema: pa.Schema) -> tuple[tuple[str, str], ...]:
    """(column, DuckDB type) of each field of `schema`; asked for the same few contract schemas again and again."""
    con = duckdb.connect(config={"threads": "1"})
    try:
        con.register("empty", schema.empty_table())
        return tuple(con.execute("SELECT column_name, column_type FROM (DESCRIBE empty)").fetchall())
    finally:
        con.close()


def _empty_select(schema: pa.Schema) -> str:
    types = _duckdb_types(schema)
    return "SELECT " + ", ".join(f"CAST(NULL AS {t}) AS {ident(c)}" for c, t in types) + " WHERE false"


def refresh_raw_schema(con: duckdb.DuckDBPyConnection, store: RawStore, families: Iterable[str] = FAMILIES) -> dict[str, int]:
    """(Re)define the `raw` schema of the build database as views over the landed Parquet.

    A family or channel with nothing landed yet gets an empty view with the contract's types, so the models
    downstream build and publish what there is. Returns the row count behind each view.
    """
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    counts: dict[str, int] = {}
    for name in families:
        family = FAMILIES[name]
        for channel in CHANNELS:
            files = store.landed(name, channel)
            body = landed_rows(files, family)
            view = f"raw.{name}_{channel}"
            _define_view(con, view, body)
            counts[view] = con.execute(f"SELECT count(*) FROM {view}").fetchone()[0]
    q_files = sorted((store.root / "_quarantine").glob("*/*.parquet"))
    _define_view(con, "raw.quarantine", _parquet_select(q_files) if q_files else _empty_select(QUARANTINE_SCHEMA))
    ledgers = sorted((store.root / "_deliveries").glob("*.jsonl"))
    columns = "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in LEDGER_COLUMNS.items()) + "}"
    if ledgers:
        body = f"SELECT * FROM read_json({literal_list(ledgers)}, format = 'newline_delimited', columns = {columns}, ignore_errors = true)"
    else:
        body = "SELECT " + ", ".join(f"CAST(NULL AS {t}) AS {k}" for k, t in LEDGER_COLUMNS.items()) + " WHERE false"
    _define_view(con, "raw.ingest_accounting", body)
    return counts


# The comment a raw view carries: a digest of the query it was defined with.
VIEW_DIGEST_PREFIX = "ndc landing, query sha256 "


def _define_view(con: duckdb.DuckDBPyConnection, view: str, body: str) -> None:
    """Define `view` as `body`, unless it is defined so already. A landing that found nothing new then writes
    nothing to the build database, and `ndc run` still finds the build the last publication left
    (orchestration/fingerprint.py compares the file's size and time)."""
    digest = VIEW_DIGEST_PREFIX + hashlib.sha256(body.encode("utf-8")).hexdigest()
    schema, name = view.split(".")
    found = con.execute("SELECT comment FROM duckdb_views() WHERE database_name = current_database() "
                        "AND schema_name = ? AND view_name = ?", [schema, name]).fetchall()
    if found == [(digest,)]:
        return
    con.execute(f"CREATE OR REPLACE VIEW {view} AS {body}")
    con.execute(f"COMMENT ON VIEW {view} IS {literal(digest)}")


def _parquet_select(files: list[Path]) -> str:
    return f"SELECT * FROM read_parquet({literal_list(files)})"


def landed_rows(files: Iterable[Path], family: Family) -> str:
    """A SELECT of these landed Parquet files' rows as the family's raw view gives them (none when no file)."""
    files, schema = list(files), landing_schema(family)
    return _landed_select(files, schema) if files else _empty_select(schema)


def _landed_select(files: list[Path], schema: pa.Schema) -> str:
    """A family's landed Parquet as rows of the current contract. Files landed before a field joined the contract
    (the zone report's green account fields) lack its column: it reads as null there, so a raw layer landed by an
    earlier version still builds. Only the footers are read; when every file has every column nothing changes."""
    landed = [set(pq.read_schema(path).names) for path in files]
    if all(set(schema.names) <= names for names in landed):
        return _parquet_select(files)
    anywhere = set().union(*landed)
    types = dict(_duckdb_types(schema))
    columns = ", ".join(ident(name) if name in anywhere else f"CAST(NULL AS {types[name]}) AS {ident(name)}"
                        for name in schema.names)
    return f"SELECT {columns} FROM read_parquet({literal_list(files)}, union_by_name = true)"
