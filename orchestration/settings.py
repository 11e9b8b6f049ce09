"""Settings, read once from the environment, every one with a default that works offline.

ENVIRONMENT below lists each variable with its default (`ndc -h` prints it).

`Settings.from_env()` is the only reader, once per process: the `ndc` command and the code location's load
(orchestration/definitions.py) call it, and the `ndc` Dagster resource carries every value from there as typed config
(orchestration/resources.py). The two secrets travel as `dg.EnvVar`: Dagster resolves them from the same variable
when a run starts and shows only the variable's name, never the value. dbt's profile reads `NDC_HOME`,
`NDC_DBT_TARGET`, `NDC_DBT_THREADS` and `NDC_DUCKDB_MEMORY_LIMIT` itself, from the environment
`child_environment()` gives it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ingestion.api_client import DEFAULT_RETRY_BUDGET_S
from ingestion.periods import MAX_QUARTERLY_DEADLINE_DAYS, QUARTERLY_DEADLINE_DAYS
from warehouse.memory import DEFAULT_MEMORY_LIMIT, MEMORY_LIMIT_ENV

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
# The settings that can hold a credential (a bearer token, a DSN with a password): the Dagster resource names them
# by their variable and never carries their values (orchestration/resources.py).
API_TOKEN_ENV = "NDC_API_TOKEN"
PUBLISH_POSTGRES_DSN_ENV = "NDC_PUBLISH_POSTGRES_DSN"
# Where `ndc docs --serve` serves Data Docs, dbt's docs and the report; asset metadata links there, since browsers
# refuse the file:// links the UI would otherwise show.
DEFAULT_DOCS_BASE_URL = "http://127.0.0.1:8080/"
# dbt's threads on the DuckDB target: the models and tests it runs at once, on the one connection dbt-duckdb keeps
# to the build file (still one writer). Two cut `dbt build` by 14-24% at one national year and raised the run's peak
# memory by 13% (docs/benchmark.md); one keeps the peak the five-year figures were measured with.
DBT_THREADS_ENV = "NDC_DBT_THREADS"
DEFAULT_DBT_THREADS = 2
MAX_DBT_THREADS = 32

# Every variable the pipeline reads: (name, default, what). `ndc -h` lists them.
ENVIRONMENT = (
    ("NDC_HOME", "<repo>/.ndc", "landing/, raw/, warehouse/, quality/, dagster/, dbt/"),
    ("NDC_API_URL", "unset (no API pull)", "base URL of the national reporting system's API"),
    (API_TOKEN_ENV, "unset", "its bearer token (secret: never logged)"),
    ("NDC_API_RETRY_BUDGET_S", f"{DEFAULT_RETRY_BUDGET_S:g}",
     "seconds one API page may spend on retries before the pull stops"),
    ("NDC_DBT_TARGET", "duckdb", "dbt target (dbt_project/profiles.yml): duckdb, spark, spark_cluster"),
    (DBT_THREADS_ENV, f"{DEFAULT_DBT_THREADS}",
     f"models and tests dbt runs at once on the duckdb target (1-{MAX_DBT_THREADS}): faster, and more memory"),
    (PUBLISH_POSTGRES_DSN_ENV, "unset (DuckDB only)",
     "PostgreSQL to publish the analytics and ops schemas to (secret: never logged)"),
    (MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT,
     "DuckDB's memory per connection: dbt, gates, publication (it spills beyond)"),
    ("NDC_PG_CONFINE_READER", "off",
     "1: publication takes away the CONNECT bi_reader has on the server's other databases through PUBLIC"),
    ("NDC_QUARTERLY_DEADLINE_DAYS", f"{QUARTERLY_DEADLINE_DAYS}",
     "days after a quarter's end its flash reports are due (1-27); the quarterly schedule runs the day after"),
    ("NDC_DOCS_BASE_URL", DEFAULT_DOCS_BASE_URL,
     "where `ndc docs --serve` serves Data Docs, dbt docs and the report: the UI's links point there"),
)


@dataclass(frozen=True)
class Settings:
    home: Path
    api_url: str | None = None
    api_token: str | None = None
    api_retry_budget_s: float = DEFAULT_RETRY_BUDGET_S
    dbt_target: str = "duckdb"
    dbt_threads: int = DEFAULT_DBT_THREADS
    publish_postgres_dsn: str | None = None
    duckdb_memory_limit: str = DEFAULT_MEMORY_LIMIT
    pg_confine_reader: bool = False
    quarterly_deadline_days: int = QUARTERLY_DEADLINE_DAYS
    docs_base_url: str = DEFAULT_DOCS_BASE_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        home = Path(environ.get("NDC_HOME") or REPO_ROOT / ".ndc")
        if not home.is_absolute():
            home = REPO_ROOT / home
        return cls(
            home=home,
            api_url=environ.get("NDC_API_URL") or None,
            api_token=environ.get(API_TOKEN_ENV) or None,
            api_retry_budget_s=_seconds(environ, "NDC_API_RETRY_BUDGET_S", DEFAULT_RETRY_BUDGET_S),
            dbt_target=environ.get("NDC_DBT_TARGET") or "duckdb",
            dbt_threads=_whole_number(environ, DBT_THREADS_ENV, DEFAULT_DBT_THREADS, MAX_DBT_THREADS, "threads"),
            publish_postgres_dsn=environ.get(PUBLISH_POSTGRES_DSN_ENV) or None,
            duckdb_memory_limit=environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT,
            pg_confine_reader=(environ.get("NDC_PG_CONFINE_READER") or "").strip().lower() in ("1", "true", "yes"),
            quarterly_deadline_days=_whole_number(environ, "NDC_QUARTERLY_DEADLINE_DAYS", QUARTERLY_DEADLINE_DAYS,
                                                  MAX_QUARTERLY_DEADLINE_DAYS, "days"),
            docs_base_url=_base_url(environ.get("NDC_DOCS_BASE_URL") or DEFAULT_DOCS_BASE_URL),
        )

    def child_environment(self) -> dict[str, str]:
        """What child processes (dbt) must see so they agree with these settings."""
        return {"NDC_HOME": str(self.home), "NDC_DBT_TARGET": self.dbt_target,
                DBT_THREADS_ENV: str(self.dbt_threads), MEMORY_LIMIT_ENV: self.duckdb_memory_limit}

    @property
    def builds_on_spark(self) -> bool:
        """The dbt targets `spark` (a local session) and `spark_cluster` (a Thrift server) build on Spark SQL."""
        return self.dbt_target.startswith("spark")

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def raw(self) -> Path:
        return self.home / "raw"

    @property
    def dbt_runs(self) -> Path:
        """One folder per pipeline run's `dbt build`, named by the Dagster run id: the SQL dbt compiled,
        `run_results.json` and `dbt.log`. The newest few are kept (orchestration/defs/dbt.py)."""
        return self.home / "dbt" / "runs"

    @property
    def dbt_parse_cache(self) -> Path:
        """dbt's parsed project as this home's last `dbt build` left it (orchestration/defs/dbt.py)."""
        return self.home / "dbt" / "partial_parse.msgpack"

    @property
    def build_db(self) -> Path:
        return self.home / "warehouse" / "build.duckdb"

    @property
    def serving_db(self) -> Path:
        return self.home / "warehouse" / "serving.duckdb"

    @property
    def evaluation_report(self) -> Path:
        """The evaluation report rebuilt after every publication (orchestration/defs/report.py)."""
        return self.home / "reports" / "evaluation.html"

    @property
    def quality(self) -> Path:
        """Great Expectations' results, suites and Data Docs (`docs/index.html`)."""
        return self.home / "quality"

    @property
    def quality_docs(self) -> Path:
        return self.quality / "docs"

    @property
    def dbt_docs(self) -> Path:
        """dbt's documentation site for the warehouse (`ndc docs`)."""
        return self.home / "docs" / "dbt"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def served_docs(self) -> dict[str, Path]:
        """What `ndc docs --serve` serves, by the first segment of the URL path: Data Docs, dbt's docs, the reports."""
        return {"quality": self.quality_docs, "dbt": self.dbt_docs, "reports": self.home / "reports"}

    def docs_url(self, path: Path) -> str | None:
        """The address under NDC_DOCS_BASE_URL of a file `ndc docs --serve` serves; None for any other file."""
        for prefix, root in self.served_docs.items():
            if path.is_relative_to(root):
                return self.docs_base_url + quote(f"{prefix}/{path.relative_to(root).as_posix()}")
        return None


def _base_url(text: str) -> str:
    if not text.startswith(("http://", "https://")):
        raise ValueError(f"NDC_DOCS_BASE_URL={text!r}: give an http(s) address, e.g. {DEFAULT_DOCS_BASE_URL}")
    return text if text.endswith("/") else text + "/"


def _whole_number(environ: Mapping[str, str], name: str, default: int, high: int, unit: str) -> int:
    """A setting that is a whole number from 1 to `high`, as written; unset or empty gives `default`. Raises
    ValueError naming the variable and what was expected."""
    text = (environ.get(name) or "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= high:
        raise ValueError(f"{name}={text!r}: a whole number of {unit} from 1 to {high}")
    return int(text)


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"{name}={text!r}: give a number of seconds above 0, e.g. {default:g}")
    return value
