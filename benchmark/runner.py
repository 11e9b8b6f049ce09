"""`ndc bench`: generate (cached), run the pipeline and the bare-engine baseline on the same file drops, on a tiny
input too, then the nightly incremental scenario; write the figures as JSON.

Every run is a child process in a fresh home whose landing folder is hard-linked from the cache:
- the pipeline is `ndc run --full-refresh`, exactly as an operator starts it (DuckDB only: the PostgreSQL and API
  settings are removed from its environment); its stage split comes from the Dagster instance's step times, the
  same figures its `timings:` line prints, and its memory from sampling the process tree (the run and dbt);
- the baseline is `python -m benchmark.baseline`, which refuses to start, and reports it, if Dagster, dbt or
  Great Expectations were imported;
- the incremental scenario drops the nightly delivery (`benchmark.nightly`) into the full run's home and runs
  `ndc run` as the nightly schedule does, incremental facts and all.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psutil

from benchmark.baseline import rows_read_by_family
from benchmark.nightly import write_delivery
from benchmark.plan import Plan, dbt_steps, published_keys, run_target
from benchmark.process import ChildRun, run_measured
from ingestion.durable import write_json_atomically
from ingestion.landing import scan_landing
from orchestration.settings import Settings

CACHE_VERSION = 1  # bump when the generator's output for a seed changes
STAGES = {"land": "ingest", "dbt build": "dbt build", "gates": "gates", "publish": "publish"}  # report -> bench
TINY_RECORDS = {"enterprise": 150, "contract": 150, "incubator": 40, "zone": 40, "quarterly": 40}  # about 420 records in all
# Settings that would make the pipeline do work the baseline does not (PostgreSQL, the API) are left out.
UNSET = ("NDC_PUBLISH_POSTGRES_DSN", "NDC_API_URL", "NDC_API_TOKEN", "DAGSTER_HOME")
NDC = Path(sys.executable).parent / "ndc"


@dataclass(frozen=True)
class BenchConfig:
    scale: str
    years: range
    seed: int
    out: Path
    cache: Path
    workdir: Path | None = None  # default: a temporary folder, removed afterwards
    incremental: bool = True
    tiny: bool = True


def default_cache() -> Path:
    configured = os.environ.get("NDC_BENCH_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "ndc" / "bench"


def cached_generation(config: BenchConfig, log: Callable[[str], None]) -> Path:
    """The generator's output for (scale, years, seed), written once and reused: OUT/landing, OUT/manifest."""
    from simulator.generate import generate

    key = f"{config.scale}-{config.years.start}-{config.years.stop - 1}-seed{config.seed}-v{CACHE_VERSION}"
    target = config.cache / key
    if (target / "manifest" / "summary.json").exists():
        log(f"generation cached in {target}")
        return target
    config.cache.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=config.cache))
    log(f"generating {config.scale} {config.years.start}-{config.years.stop - 1} (seed {config.seed}) into {target}")
    generate(partial, config.scale, config.years, config.seed, "files")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(partial, target)
    return target


def _link_tree(source: Path, target: Path, files: list[Path] | None = None) -> None:
    """Hard links when the file system allows (the runs only read the drops), copies otherwise."""
    chosen = files if files is not None else [p for p in source.rglob("*") if p.is_file()]
    for path in chosen:
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dest)
        except OSError:
            shutil.copy2(path, dest)


def tiny_files(landing: Path) -> list[Path]:
    """A few hundred records: each family's smallest deliveries, from every year, up to TINY_RECORDS."""
    chosen = []
    for family, wanted in TINY_RECORDS.items():
        rows = 0
        for _, path in sorted(scan_landing(landing, family), key=lambda sp: (sp[1].stat().st_size, sp[0])):
            if rows >= wanted:
                break
            chosen.append(path)
            rows += max(0, path.read_bytes().count(b"\n") - 1) if path.suffix == ".csv" else 10
    return chosen


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env["NDC_HOME"] = str(home)
    return env


def _rows_read(report: str) -> int:
    """Rows landed plus quarantined, from the lines of `ndc run`'s report."""
    return sum(int(landed.replace(",", "")) + int(quarantined.replace(",", "")) for landed, quarantined in
               re.findall(r"([\d,]+) rows landed, ([\d,]+) quarantined", report))


def _rows_published(report: str) -> int:
    found = re.search(r"PUBLISHED \d+ tables \(([\d,]+) rows\)", report)
    return int(found.group(1).replace(",", "")) if found else 0


def _pipeline_rows_by_family(home: Path) -> dict[str, int]:
    with duckdb.connect(str(Settings(home=home).build_db), read_only=True) as con:
        return rows_read_by_family(con)


@dataclass
class PipelineRun:
    child: ChildRun
    run_id: str
    stages_s: dict[str, float]
    stage_peak_rss_mib: dict[str, float | None]
    rows_read: int
    rows_published: int


def run_pipeline(home: Path, full_refresh: bool) -> PipelineRun:
    import dagster as dg

    from orchestration.run_report import stage_seconds

    args = [str(NDC), "run", *(["--full-refresh"] if full_refresh else [])]
    child = run_measured(args, _environment(home)).check()
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        run_id = instance.get_runs(limit=1)[0].run_id
        steps = instance.get_run_step_stats(run_id)
    stages: dict[str, float] = {}
    peaks: dict[str, float | None] = {}
    for step in steps:
        if step.start_time is None:
            continue
        end = step.end_time or step.start_time
        stage = next(iter(stage_seconds([(step.step_key, 0.0)])), None)
        if stage is None:
            continue
        name = STAGES[stage]
        stages[name] = stages.get(name, 0.0) + end - step.start_time
        peak = child.peak_between(step.start_time, end)
        if peak is not None:
            peaks[name] = max(peaks.get(name) or 0.0, peak)
    return PipelineRun(child, run_id, stages, {s: peaks.get(s) for s in stages}, _rows_read(child.stdout),
                       _rows_published(child.stdout))


def extract_plan(pipeline: PipelineRun, home: Path, work: Path) -> Path:
    """The SQL the baseline replays, taken from the pipeline's run (see benchmark.plan)."""
    work.mkdir(parents=True, exist_ok=True)
    target = run_target(Settings.from_env(_environment(home)).dbt_runs, pipeline.run_id)
    build_db = home / "warehouse" / "build.duckdb"
    steps = dbt_steps(target, build_db)
    gates_file = work / "gates.pkl"
    done = subprocess.run([sys.executable, "-m", "benchmark.plan", "gates", str(build_db), str(gates_file)],
                          env=_environment(home), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"recording the gates' SQL failed:\n{done.stderr[-4000:]}")
    plan_file = work / "plan.pkl"
    import pickle

    Plan(steps, pickle.loads(gates_file.read_bytes()), published_keys(target)).save(plan_file)
    return plan_file


def run_baseline(landing: Path, plan: Path, work: Path) -> tuple[ChildRun, dict]:
    out = work / "baseline.json"
    args = [sys.executable, "-m", "benchmark.baseline", str(landing), str(plan), str(work / "db"), str(out)]
    child = run_measured(args, dict(os.environ)).check()
    return child, json.loads(out.read_text(encoding="utf-8"))


def _stage_figures(stages_s: dict[str, float], records: int, peaks: dict[str, float | None] | None = None) -> dict:
    return {
        stage: {
            "wall_s": round(seconds, 2),
            "records_per_s": round(records / seconds) if seconds > 0 else None,
            **({"peak_rss_mib": round(peaks[stage], 1) if peaks.get(stage) is not None else None} if peaks else {}),
        }
        for stage, seconds in stages_s.items()
    }


def _machine() -> dict:
    return {
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _pair(home: Path, landing_source: Path, files: list[Path] | None, work: Path,
          log: Callable[[str], None], label: str) -> tuple[PipelineRun, ChildRun, dict, Path]:
    """The pipeline (full refresh) and then the baseline, on the same drops."""
    _link_tree(landing_source, home / "landing", files)
    log(f"{label}: pipeline (ndc run --full-refresh) in {home}")
    pipeline = run_pipeline(home, full_refresh=True)
    log(f"{label}: pipeline {pipeline.child.wall_s:.1f} s; extracting the SQL it ran")
    plan = extract_plan(pipeline, home, work)
    log(f"{label}: baseline (bare DuckDB)")
    child, figures = run_baseline(home / "landing", plan, work / "baseline")
    log(f"{label}: baseline {child.wall_s:.1f} s")
    return pipeline, child, figures, plan


def bench(config: BenchConfig, log: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> dict:
    machine = _machine()
    started = dt.datetime.now(dt.UTC)
    generated = cached_generation(config, log)
    summary = json.loads((generated / "manifest" / "summary.json").read_text(encoding="utf-8"))
    records = summary["records"]
    work = Path(config.workdir or tempfile.mkdtemp(prefix="ndc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        pipeline, base_child, base, _ = _pair(work / "full", generated / "landing", None, work / "full-work", log, "full")
        result = {
            "scale": config.scale,
            "years": [config.years.start, config.years.stop - 1],
            "seed": config.seed,
            "date": started.isoformat(timespec="seconds"),
            "machine": machine,
            "records": records,
            "files": summary["files"],
            "pipeline_wall_s": round(pipeline.child.wall_s, 2),
            "baseline_wall_s": round(base_child.wall_s, 2),
            "ratio": round(pipeline.child.wall_s / base_child.wall_s, 3),
            "peak_rss_mib": round(pipeline.child.peak_rss_mib, 1),
            "pipeline": {
                "stages": _stage_figures(pipeline.stages_s, records, pipeline.stage_peak_rss_mib),
                # Start-up, imports, loading the definitions, the run's bookkeeping and report: outside any stage.
                "outside_stages_s": round(pipeline.child.wall_s - sum(pipeline.stages_s.values()), 2),
                "rows_read": pipeline.rows_read,
                "rows_read_by_family": _pipeline_rows_by_family(work / "full"),
                "rows_published": pipeline.rows_published,
                "max_single_process_rss_mib": round(pipeline.child.max_single_rss_mib, 1),
            },
            "baseline": {
                "stages": _stage_figures(base["stages_s"], records),
                "outside_stages_s": round(base_child.wall_s - sum(base["stages_s"].values()), 2),
                "peak_rss_mib": round(base_child.peak_rss_mib, 1),
                "rows_read": base["records_read"],
                "rows_read_by_family": base["records_read_by_family"],
                "rows_published": base["rows_published"],
                "models": base["models"], "seeds": base["seeds"], "tests": base["tests"],
                "test_failures": base["test_failures"], "gate_statements": base["gate_statements"],
                "imported_forbidden_modules": base["forbidden_modules"],
            },
            "dbt_nodes": base["dbt_nodes"],
        }
        if config.incremental:
            delivery = write_delivery(work / "full" / "warehouse" / "build.duckdb", work / "full" / "landing",
                                      records, config.seed)
            log(f"incremental: {delivery.records} records in {len(delivery.files)} files; ndc run")
            nightly = run_pipeline(work / "full", full_refresh=False)
            result.update({
                "incremental_wall_s": round(nightly.child.wall_s, 2),
                "incremental_ratio": round(nightly.child.wall_s / pipeline.child.wall_s, 3),
                "incremental": {
                    "records": delivery.records, "corrections": delivery.corrections,
                    "new_filings": delivery.new_filings, "by_period": {str(k): v for k, v in delivery.by_period.items()},
                    "files": len(delivery.files), "stages": _stage_figures(nightly.stages_s, delivery.records),
                    "peak_rss_mib": round(nightly.child.peak_rss_mib, 1),
                },
            })
        if config.tiny:
            files = tiny_files(generated / "landing")
            tiny_pipeline, tiny_child, tiny_base, _ = _pair(
                work / "tiny", generated / "landing", files, work / "tiny-work", log, "tiny")
            fixed = tiny_pipeline.child.wall_s - tiny_child.wall_s
            marginal_base = base_child.wall_s - tiny_child.wall_s
            marginal_pipeline = pipeline.child.wall_s - tiny_pipeline.child.wall_s
            result.update({
                "fixed_overhead_s": round(fixed, 2),
                # Where the full input costs no more than the tiny one on either side (a small scale on a busy
                # machine), the records' own cost is lost in the noise: unmeasurable (null), never a sign flip.
                "marginal_ratio": round(marginal_pipeline / marginal_base, 3)
                if marginal_base > 0 and marginal_pipeline > 0 else None,
                "tiny": {
                    "files": len(files), "records": tiny_base["records_read"],
                    "pipeline_wall_s": round(tiny_pipeline.child.wall_s, 2),
                    "baseline_wall_s": round(tiny_child.wall_s, 2),
                    "pipeline_stages": _stage_figures(tiny_pipeline.stages_s, tiny_base["records_read"]),
                    "baseline_stages": _stage_figures(tiny_base["stages_s"], tiny_base["records_read"]),
                    "baseline_imported_forbidden_modules": tiny_base["forbidden_modules"],
                },
            })
        result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        if config.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    write_json_atomically(config.out, result, indent=2)
    return result


__all__ = ["BenchConfig", "bench", "default_cache"]
