"""The pipeline's packages hold the pipeline: the simulator and the benchmark are tools beside it, with their own
extras, and the production install works without them."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

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
