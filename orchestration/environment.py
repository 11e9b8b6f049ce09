"""Failures of the machine rather than of the data: a full disk, an NDC_HOME that cannot be written, a corrupt
database file. `ndc run` tells them apart from a blocked gate (exit 4, not 1) and says in one line what to do,
because the fix is the operator's (free space, a permission, a file to move aside), not a province's.

They are recognised by the operating system's and DuckDB's wording, which reaches the run's errors as text (a step's
error, dbt's messages, an OSError before the run starts). Plain Python: no Dagster import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Wording of each kind, case-sensitive: "Permission denied" is the OS's strerror, while PostgreSQL's lower-case
# "permission denied for …" is a grant to fix in the database, not the machine.
DISK_FULL = ("No space left on device", "File too large", "Disk quota exceeded", "database or disk is full")
NOT_WRITABLE = ("Read-only file system", "Permission denied", "attempt to write a readonly database")
CORRUPT = ("not a valid DuckDB database file", "Corrupt database file", "file is not a database")
WORDING = (("disk", DISK_FULL), ("writable", NOT_WRITABLE), ("corrupt", CORRUPT))
_QUOTED_PATH = re.compile(r"""["'](/[^"'\n]+)["']""")


@dataclass(frozen=True)
class EnvironmentFailure:
    what: str
    todo: str

    def line(self) -> str:
        return f"ndc run: {self.what}: {self.todo}"


def names_a_machine_failure(text: str) -> bool:
    """Whether `text` holds the wording of any environment failure that `diagnose` recognises."""
    return any(w in text for _, wording in WORDING for w in wording)


def diagnose(text: str, home: Path) -> EnvironmentFailure | None:
    """The environment failure that `text` (error messages of a run) reports, or None if it reports none."""
    for kind, wording in WORDING:
        found = next((w for w in wording if w in text), None)
        if found is None:
            continue
        # The file named nearest the wording is the one that failed.
        at = text.index(found)
        paths = [(abs(m.start() - at), m.group(1)) for m in _QUOTED_PATH.finditer(text)]
        path = min(paths)[1] if paths else None
        if kind == "disk":
            return EnvironmentFailure(
                f"the disk is full writing {path or home} ({found})",
                "free space on that disk (or set NDC_HOME to a larger one) and run `ndc run` again; the serving "
                "copies are replaced only by a complete publication",
            )
        if kind == "writable":
            return EnvironmentFailure(
                f"cannot write {path or home} ({found})",
                f"make NDC_HOME ({home}) writable by this user (remount it read-write, fix its owner) or set NDC_HOME "
                "to a writable folder, and run `ndc run` again",
            )
        return EnvironmentFailure(
            f"{path or 'a DuckDB file under ' + str(home / 'warehouse')} is corrupt ({found})",
            "everything in warehouse/ is rebuilt from the raw layer: move the file aside and run `ndc run "
            "--full-refresh`",
        )
    return None
