"""One step of the disk-full test, run in a process whose raw layer sits on a small disk:
`python -m tests.reliability.disk_full_scenario fill|finish LANDING RAW`.

`fill` lands every family and prints, as JSON, the error it met; `finish` lands again (space freed) and prints the
raw layer's keys (tests/ingestion/test_kill.raw_keys).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ingestion.landing import RawStore, land_file_drops
from tests.support import RAW_FAMILIES as FAMILIES
from tests.support import raw_keys


def main(step: str, landing: str, raw: str) -> None:
    store = RawStore(Path(raw))
    try:
        for family in FAMILIES:
            land_file_drops(Path(landing), store, family, batch_rows=300)
    except OSError as exc:
        print(json.dumps({"error": str(exc), "type": type(exc).__name__, "errno": exc.errno}))
        return
    print(json.dumps({"keys": raw_keys(store)} if step == "finish" else {"error": None}, default=str))


if __name__ == "__main__":
    main(*sys.argv[1:4])
