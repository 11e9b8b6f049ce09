"""What a publication was built from, so that `ndc run` with nothing new says so instead of rebuilding.

After an `ndc run` over every year published with no failed step and no failed blocking check, the command writes
`$NDC_HOME/warehouse/publication.json`: the run's id and time and the fingerprint below. Every `ndc run` that goes
on to build removes the file before it starts, so a failed, blocked or killed run always leaves none.

A plain `ndc run` (no `--full-refresh`, no `--years`) then skips the build when all of this holds, checked in well
under a second and without loading Dagster or dbt:

- no delivery in `landing/` is new or changed for the ledger (the check the landing sensor makes), and no API is
  configured (what an API holds is only known by pulling it);
- the raw layer is file for file (path, size, modification time) as it was after the publication;
- the code is the same: the pipeline's Python packages and the dbt project's files (models, macros, seeds,
  profiles), the graph of the dbt manifest Dagster loads (each node's checksum and config), and the installed
  versions of the libraries that build;
- the settings that change what is published are the same: the dbt target, the API URL, the PostgreSQL target
  (host:port/database: never the credentials) and whether publication confines bi_reader;
- the build database, the serving file and the evaluation report are still the files the run left (size and
  modification time), and with PostgreSQL configured its `analytics` schema still holds every published table.

Anything else (the DuckDB memory limit, `--allow-shrink`) does not change what a rebuild would publish.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ingestion.durable import write_json_atomically
from orchestration.settings import DBT_PROJECT_DIR, REPO_ROOT, Settings

RECORD_NAME = "publication.json"
# The code a run executes: the pipeline's packages (their Python files) and the dbt project (every file but what
# dbt writes: target/, logs/, dbt_packages/ and its dot files).
PYTHON_PACKAGES = tuple(REPO_ROOT / name for name in ("ingestion", "orchestration", "expectations", "warehouse"))
DBT_WRITES = {"target", "logs", "dbt_packages"}
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
# The libraries whose version can change what a build publishes.
LIBRARIES = ("dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "duckdb", "great-expectations", "pyarrow",
             "psycopg")
# The libraries whose version can change the SQL a model runs or what it computes.
DBT_LIBRARIES = ("dbt-core", "dbt-duckdb", "duckdb")


def _digest(parts: Iterable[str]) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part.encode("utf-8", "surrogateescape") + b"\0")
    return sha.hexdigest()


def _files(root: Path, suffix: str = "", skip: set[str] = frozenset()) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skip and not d.startswith(".") and d != "__pycache__")
        found += [Path(folder) / f for f in sorted(files) if f.endswith(suffix) and not f.startswith(".")]
    return found


def tree_state(root: Path) -> str:
    """Every file under `root` by relative path, size and modification time (no content read: cheap)."""
    def entries():
        for path in _files(root):
            stat = path.stat()
            yield f"{path.relative_to(root).as_posix()}|{stat.st_size}|{stat.st_mtime_ns}"

    return _digest(entries()) if root.exists() else "absent"


def manifest_graph(manifest: Path) -> str:
    """The dbt graph Dagster loads, without what changes at every parse (timestamps, invocation ids)."""
    if not manifest.exists():
        return "absent"
    data = json.loads(manifest.read_bytes())
    return _digest(
        f"{uid}|{node.get('checksum', {}).get('checksum')}|{json.dumps(node.get('config'), sort_keys=True)}"
        for section in ("nodes", "sources") for uid, node in sorted(data.get(section, {}).items())
    )


def _contents(paths: Iterable[Path], root: Path) -> Iterator[str]:
    """Each file's path under `root` and the digest of its content."""
    for path in paths:
        yield path.relative_to(root).as_posix()
        yield hashlib.sha256(path.read_bytes()).hexdigest()


def _versions(libraries: Iterable[str]) -> Iterator[str]:
    for library in libraries:
        try:
            yield f"{library}=={metadata.version(library)}"
        except metadata.PackageNotFoundError:
            yield f"{library} absent"


def dbt_project_state(dbt_project: Path = DBT_PROJECT_DIR) -> str:
    """The dbt project as its files are (models, macros, seeds, vars, profiles) and the versions of dbt and DuckDB:
    what decides the SQL an incremental model's rows were built by (orchestration/build_mark.py)."""
    return _digest([*_contents(_files(dbt_project, skip=DBT_WRITES), dbt_project), *_versions(DBT_LIBRARIES)])


def code_state(packages: Iterable[Path] = PYTHON_PACKAGES, dbt_project: Path = DBT_PROJECT_DIR,
               manifest: Path = MANIFEST) -> str:
    def parts():
        for root in packages:
            yield from _contents(_files(root, ".py"), root.parent)
        yield "dbt " + dbt_project_state(dbt_project)
        yield manifest_graph(manifest)
        yield from _versions(LIBRARIES)

    return _digest(parts())


def settings_state(settings: Settings) -> dict[str, object]:
    postgres = None
    if settings.publish_postgres_dsn:
        from warehouse.postgres import describe_target  # psycopg: only with PostgreSQL configured

        postgres = describe_target(settings.publish_postgres_dsn)
    return {"dbt_target": settings.dbt_target, "api_url": settings.api_url, "postgres": postgres,
            "pg_confine_reader": settings.pg_confine_reader}


def _file_state(path: Path) -> str:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return "absent"
    return f"{stat.st_size}|{stat.st_mtime_ns}"


def outputs_state(settings: Settings) -> dict[str, str]:
    return {"build": _file_state(settings.build_db), "serving": _file_state(settings.serving_db),
            "report": _file_state(settings.evaluation_report)}


def fingerprint(settings: Settings, code: str | None = None) -> dict[str, object]:
    """What a publication from `settings.home` now would be built from; `code` defaults to `code_state()`."""
    return {"raw": tree_state(settings.raw), "code": code or code_state(), "settings": settings_state(settings),
            "outputs": outputs_state(settings)}


def record_path(settings: Settings) -> Path:
    return settings.home / "warehouse" / RECORD_NAME


def forget(settings: Settings) -> None:
    """Before a run builds anything: until it publishes, nothing it changes is vouched for."""
    record_path(settings).unlink(missing_ok=True)


def record(settings: Settings, run_id: str, postgres_tables: Iterable[str] = (), code: str | None = None) -> None:
    """After a run over every year published without a failure: what it was built from (`code`: as the run
    started)."""
    write_json_atomically(record_path(settings), {
        "run_id": run_id,
        "published_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "fingerprint": fingerprint(settings, code),
        "postgres_tables": sorted(postgres_tables),
    }, indent=2)


@dataclass(frozen=True)
class Verdict:
    nothing_new: bool
    reason: str  # why a build is needed, or what the last publication was
    run_id: str | None = None
    published_at: str | None = None


def _postgres_missing(dsn: str, tables: list[str]) -> list[str]:
    import psycopg

    from warehouse.publish import PUBLISHED_SCHEMAS

    with psycopg.connect(dsn, connect_timeout=10) as pg:
        present = {f"{s}.{t}" for s, t in pg.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = ANY(%s)",
            [list(PUBLISHED_SCHEMAS)])}
    return [t for t in tables if t not in present]


def check(settings: Settings, code: str | None = None) -> Verdict:
    """Whether a plain `ndc run` now would publish what the serving copies hold already."""
    from ingestion.landing import RawStore, pending_deliveries  # pyarrow and DuckDB: only when checking

    path = record_path(settings)
    try:
        last = json.loads(path.read_text(encoding="utf-8"))
        before = last["fingerprint"]
    except FileNotFoundError:
        return Verdict(False, "no publication recorded since the last run that built (a first, failed, blocked, "
                       "killed, --years or --full-refresh run)")
    except (ValueError, KeyError, TypeError):
        return Verdict(False, f"{path} is unreadable")
    if settings.api_url and settings.api_token:
        return Verdict(False, "the reporting system's API is configured: only a pull tells what it holds")
    pending = pending_deliveries(settings.landing, RawStore(settings.raw))
    if pending:
        return Verdict(False, f"{len(pending)} new or changed deliveries in {settings.landing}")
    now = fingerprint(settings, code)
    what = {"raw": "the raw layer changed", "code": "the code or the dbt project changed",
            "settings": "a setting that changes the publication changed",
            "outputs": "the build database, the serving file or the report changed or is missing"}
    changed = [what[key] for key in what if now.get(key) != before.get(key)]
    if changed:
        return Verdict(False, "; ".join(changed) + " since the last publication")
    tables = last.get("postgres_tables") or []
    if settings.publish_postgres_dsn and tables:
        try:
            missing = _postgres_missing(settings.publish_postgres_dsn, tables)
        except Exception:  # the server is down or refuses: a run tells the operator why (no DSN in this message)
            return Verdict(False, "PostgreSQL's serving copy could not be checked")
        if missing:
            return Verdict(False, f"PostgreSQL's serving copy lacks {len(missing)} published tables")
    return Verdict(True, "nothing new since the last publication", last.get("run_id"), last.get("published_at"))
