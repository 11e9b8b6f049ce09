"""`ndc run`'s run, recorded as a run of the workspace's code location, like a run the UI or the daemon starts.

`execute_in_process` records a run with no origin. Dagster then treats it as a run from nowhere: the run status
sensors of the code location (`run_failure_summary`, orchestration/defs/jobs.py) match runs by their origin's
location and repository names and skip it, and the UI's Overview timeline, which groups runs by code location,
leaves it out. So `ndc run` creates the run itself, with the origin of the location that workspace.yaml declares
(the same `ndc` location `make dev` loads) and the Python origin a run worker would re-import it from, then executes
it in this process as before.

Dagster has no public API for either step; the private uses are marked where they are. dagster is pinned exactly in
pyproject.toml, and tests/orchestration/test_operations.py checks the recorded origin and that the failure sensor
summarises a failed `ndc run`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.settings import REPO_ROOT

WORKSPACE = REPO_ROOT / "workspace.yaml"


def origins(job_name: str, repository_name: str, workspace: Path = WORKSPACE):
    """(the remote origin, the Python origin) of `job_name` in the workspace's only code location."""
    # Private: how the webserver and the daemon read workspace.yaml into a location's origin; using it keeps the
    # origin exactly theirs (its name and how it loads) instead of a copy that could drift from theirs.
    from dagster._core.workspace.load import location_origins_from_yaml_paths
    # Private: the origin records a run carries; only Dagster's own run launchers build them.
    from dagster._core.remote_origin import RemoteJobOrigin, RemoteRepositoryOrigin
    from dagster._core.code_pointer import CodePointer
    from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin

    (location,) = location_origins_from_yaml_paths([str(workspace)])
    target = location.loadable_target_origin
    remote = RemoteJobOrigin(RemoteRepositoryOrigin(location, repository_name), job_name)
    # What a run worker would import: the location's module, from the repository's folder, with this interpreter.
    pointer = CodePointer.from_module(target.module_name, "defs", str(workspace.parent))
    python = JobPythonOrigin(job_name, RepositoryPythonOrigin(sys.executable, pointer, entry_point=["dagster"],
                                                             container_context={}))
    return remote, python


def execute_as_location_run(definitions: dg.Definitions, job_name: str, instance: dg.DagsterInstance,
                            run_config: Mapping[str, Any], tags: Mapping[str, str]):
    """Execute `job_name` in this process as a run of the workspace's code location; returns Dagster's result
    (the same accessors as `execute_in_process`'s)."""
    # Private: `execute_in_process` creates its run with no way to give it an origin, so the run is created here and
    # then executed by Dagster's own `execute_run`, over the job held in memory (`InMemoryJob`), as
    # `execute_in_process` does.
    from dagster._core.definitions.job_base import InMemoryJob
    from dagster._core.execution.api import create_execution_plan, execute_run

    job_def = definitions.resolve_job_def(job_name)
    job = InMemoryJob(job_def)
    remote, python = origins(job_name, definitions.get_repository_def().name)
    plan = create_execution_plan(job, run_config=run_config, instance_ref=instance.get_ref())
    run = instance.create_run_for_job(job_def, execution_plan=plan, run_config=run_config,
                                      tags={**job_def.run_tags, **tags}, remote_job_origin=remote,
                                      job_code_origin=python)
    return execute_run(job, run, instance, raise_on_error=False)
