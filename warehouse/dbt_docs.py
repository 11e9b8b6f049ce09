"""dbt's documentation site for the warehouse, generated against the build database so its catalog shows every
published table's columns and types as they are, next to the models' descriptions and lineage."""

from __future__ import annotations

import json
import errno
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# What `dbt docs generate --static` writes besides the usual site: one HTML file that opens from disk, no server.
STATIC_PAGE = "static_index.html"


@dataclass(frozen=True)
class DbtDocs:
    path: Path  # the folder holding index.html, catalog.json and manifest.json

    @property
    def index(self) -> Path:
        return self.path / "index.html"

    @property
    def static_page(self) -> Path:
        return self.path / STATIC_PAGE

    def catalogued(self) -> set[str]:
        """`schema.name` of every relation the catalog describes."""
        catalog = json.loads((self.path / "catalog.json").read_text(encoding="utf-8"))
        return {f"{node['metadata']['schema']}.{node['metadata']['name']}" for node in catalog["nodes"].values()}


def _dbt() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def generate_docs(project_dir: Path, target: Path, env: dict[str, str]) -> DbtDocs:
    """Run `dbt docs generate --static` into `target` (outside the repository: the catalog describes the data)."""
    target.mkdir(parents=True, exist_ok=True)
    command = [_dbt(), "docs", "generate", "--static", "--profiles-dir", str(project_dir),
               "--project-dir", str(project_dir), "--target-path", str(target.resolve())]
    done = subprocess.run(command, cwd=project_dir, env={**os.environ, **env}, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"dbt docs generate failed (exit {done.returncode}); has `ndc run` built the warehouse?\n{tail}")
    return DbtDocs(target)


class PortInUse(RuntimeError):
    pass


def claim_port(port: int, host: str = "127.0.0.1") -> None:
    """Raise PortInUse when `port` cannot be served on `host` (another server has it)."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise PortInUse(f"port {port} on {host} is in use by another server") from None
