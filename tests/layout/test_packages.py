"""The pipeline's packages hold the pipeline: the simulator and the benchmark are tools beside it, with their own
extras, and the production install works without them."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PIPELINE = ("ingestion", "orchestration", "expectations", "warehouse")
TOOLS = ("simulator", "benchmark")
TOOL_ONLY_DEPENDENCIES = ("fastapi", "uvicorn", "xlsxwriter", "psutil")


def imported_top_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_pipeline_module_imports_the_simulator_or_the_benchmark_except_the_cli_on_demand():
    offenders = []
    for package in PIPELINE:
        for path in sorted((REPO / package).rglob("*.py")):
            if path == REPO / "orchestration" / "cli.py":
                continue  # `ndc generate`, `serve-api` and `bench` import them when called, by name
            wrong = imported_top_modules(path) & {*TOOLS, *TOOL_ONLY_DEPENDENCIES}
            if wrong:
                offenders.append(f"{path.relative_to(REPO)}: {sorted(wrong)}")
    assert not offenders, offenders


def test_tool_dependencies_are_extras_not_base_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    base = " ".join(project["dependencies"]).lower()
    assert not [name for name in TOOL_ONLY_DEPENDENCIES if name in base]
    extras = project["optional-dependencies"]
    assert {"fastapi", "uvicorn", "xlsxwriter"} <= {d.split(">")[0].split("=")[0] for d in extras["simulator"]}
    assert any(d.startswith("psutil") for d in extras["bench"])


def test_the_production_image_copies_no_tool():
    dockerfile = (REPO / "orchestration" / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    copied = {line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ") and "--from" not in line}
    assert set(PIPELINE) <= copied
    assert not copied & set(TOOLS)


@pytest.fixture(scope="module")
def production_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with the pipeline alone, as the production image installs it: no extra."""
    venv = tmp_path_factory.mktemp("production") / "venv"
    uv = Path(sys.executable).with_name("uv")
    subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
    done = subprocess.run([str(uv), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "-e",
                           str(REPO)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


@pytest.mark.slow
def test_the_pipeline_installs_and_loads_without_the_tools_extras(production_venv: Path, tmp_path: Path):
    python = production_venv / "bin" / "python"
    probe = ("import importlib.util, orchestration.definitions as d; d.defs.resolve_asset_graph(); "
             f"print(sorted(m for m in {TOOL_ONLY_DEPENDENCIES!r} if importlib.util.find_spec(m)))")
    loaded = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    # uvicorn arrives with dagster-webserver; the simulator's own web framework and writers do not.
    assert not {"fastapi", "xlsxwriter", "psutil"} & set(eval(loaded.stdout.strip().splitlines()[-1]))
    for command, extra in (("generate", "simulator"), ("bench", "bench")):
        done = subprocess.run([str(production_venv / "bin" / "ndc"), command], capture_output=True, text=True,
                              timeout=300, cwd=tmp_path, env={**os.environ, "NDC_HOME": str(tmp_path / "ndc")})
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"needs the `{extra}` extra" in done.stderr and "Traceback" not in done.stderr
        assert not (tmp_path / "ndc" / "landing").exists(), "nothing is generated half-way"


def test_a_tool_command_without_its_extra_says_which_extra_to_install(tmp_path: Path):
    # As in the production image: the simulator's web stack is not installed, so `ndc serve-api` cannot start.
    probe = (
        "import sys; sys.modules['uvicorn'] = None; sys.modules['fastapi'] = None\n"
        "from orchestration.cli import main\n"
        f"main(['serve-api', '--data', {str(tmp_path)!r}, '--token', 't'])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "needs the `simulator` extra" in done.stderr
    assert "pip install 'ndc-pipeline[simulator]'" in done.stderr
    assert "Traceback" not in done.stderr
