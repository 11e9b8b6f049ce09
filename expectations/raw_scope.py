"""Which deliveries a raw gate judges: those landed since the last raw gate that passed, where that is sound.

A family's blocking raw suite judges every landed row on a home's first run. Once it has passed, a later run's
rows fall into two parts: those it already judged, which still pass the same rules, and those landed since. The
gate then judges only the new deliveries' rows, and compares them across every delivery where a rule spans rows
(expectations/raw.py, `blocking`). That holds only while the judged rows and the rules are what they were, so the
gate keeps a record (`quality/raw_judged.json`) of, for each family, every landed Parquet file (its size and time)
it passed, and a digest of what defines the rules. It judges a family whole again when:

- no record is kept for it: the first run, or a gate that failed, was killed or judged other families only;
- a file it judged is gone or changed (landing replaced a delivery): rows it passed may have changed;
- the rules may have changed: the gates' code, the filing contract, the reference seeds (accepted codes, national
  figures), or the Great Expectations or DuckDB release;
- the run asks for it (`ndc run --full-refresh`).

The record is taken away as the gate starts and written again only for the families whose blocking suite passed,
so a failure, a kill or an error leaves nothing to vouch for rows that were not judged. Warnings suites (drift,
missing deliveries) speak of the family as a whole and are never scoped.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from expectations.raw import scoped_suite
from expectations.suite import Suite
from ingestion.contracts import FAMILIES
from ingestion.durable import write_json_atomically
from ingestion.landing import RawStore
from ingestion.reference import SEEDS

RECORD = "raw_judged.json"
# What the rules are made of: their code, the filing contract and the reference data they read.
_PACKAGES = ("expectations", "ingestion")
_REPOSITORY = Path(__file__).resolve().parents[1]

log = logging.getLogger(__name__)

Stamps = dict[str, tuple[int, int]]  # a landed file (relative to the raw root) -> (size, mtime_ns)


def rules_digest() -> str:
    """A digest of everything that defines the raw rules: the Python of the gates and of the contract, the reference
    seeds, and the releases of Great Expectations and DuckDB."""
    digest = hashlib.sha256()
    files = [p for package in _PACKAGES for p in sorted((_REPOSITORY / package).rglob("*.py"))]
    files += sorted(SEEDS.glob("*.csv"))
    for path in files:
        digest.update(path.relative_to(_REPOSITORY).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for package in ("great_expectations", "duckdb"):
        digest.update(f"{package}=={version(package)}\0".encode())
    return digest.hexdigest()


def landed_files(raw_root: Path, family: str) -> Stamps:
    """Every Parquet file the family's raw views read (both channels), with its size and modification time."""
    return {path.relative_to(raw_root).as_posix(): (stat.st_size, stat.st_mtime_ns)
            for path in RawStore(raw_root).landed(family) for stat in [path.stat()]}


@dataclass
class FamilyScope:
    family: str
    raw_root: Path
    files: Stamps  # what the gate found landed
    new: list[str] | None = None  # the files landed since the last passing gate; None: every file is judged
    why_whole: str = ""

    @property
    def paths(self) -> list[Path]:
        """The new files, where they are."""
        return [self.raw_root / name for name in self.new or ()]

    def describe(self) -> str:
        if self.new is None:
            return f"{self.family}: every delivery ({self.why_whole})"
        return (f"{self.family}: the {len(self.new):,} file(s) landed since the last passing gate, of "
                f"{len(self.files):,}")


@dataclass
class RawScope:
    """What one raw gate judges of each family, and what it will record."""
    digest: str
    families: dict[str, FamilyScope]

    def suites(self, suites: Sequence[Suite]) -> list[Suite]:
        """`suites` with each family's blocking suite scoped to its new deliveries where that is sound."""
        scoped = []
        for suite in suites:
            scope = self.families.get(suite.name.removeprefix("raw_"))
            if suite.blocking and scope is not None and scope.new is not None:
                suite = scoped_suite(suite, scope.paths)
            scoped.append(suite)
        return scoped

    def describe(self) -> str:
        return "; ".join(scope.describe() for scope in self.families.values())


def take(quality_dir: Path) -> dict:
    """The record of the last passing gates, removed at once: until this gate passes, it vouches for nothing."""
    path = Path(quality_dir) / RECORD
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    path.unlink(missing_ok=True)
    try:
        record = json.loads(text)
    except ValueError:
        log.warning("%s is not readable JSON: every delivery is judged", path)
        return {}
    return record if isinstance(record, dict) else {}


def begin(raw_root: Path, quality_dir: Path, families: Iterable[str], every_delivery: bool = False) -> RawScope:
    """Take the record and decide, for each of `families`, what its blocking suite judges."""
    record = take(quality_dir)
    digest = rules_digest()
    judged = record.get("families") if record.get("rules") == digest else None
    scopes = {}
    for family in families:
        files = landed_files(raw_root, family)
        scope = FamilyScope(family, Path(raw_root), files)
        before = (judged or {}).get(family)
        if every_delivery:
            scope.why_whole = "asked for"
        elif not record:
            scope.why_whole = "no passing gate recorded"
        elif judged is None:
            scope.why_whole = "the rules changed since the last passing gate"
        elif not isinstance(before, dict):
            scope.why_whole = "no passing gate recorded for the family"
        elif any(tuple(stamp) != files.get(name) for name, stamp in before.items()):
            scope.why_whole = "a delivery judged before was replaced or removed"
        else:
            scope.new = sorted(set(files) - set(before))
        scopes[family] = scope
    return RawScope(digest, scopes)


def finish(scope: RawScope, quality_dir: Path, passed: Iterable[str]) -> None:
    """Record the files of the families whose blocking suite passed in this gate (and only those)."""
    families = {family: {name: list(stamp) for name, stamp in scope.families[family].files.items()}
                for family in passed if family in scope.families}
    if families:
        write_json_atomically(Path(quality_dir) / RECORD, {"rules": scope.digest, "families": families})


def passed_families(results: Iterable, suites: Iterable[Suite]) -> list[str]:
    """The families whose blocking raw suite is among `suites` and passed in `results` (GateResult)."""
    blocking = {s.name for s in suites if s.blocking}
    return [r.suite.removeprefix("raw_") for r in results
            if r.suite in blocking and r.passed and r.suite.removeprefix("raw_") in FAMILIES]
