"""The landing sensor starts one refresh per new or changed drop, and none when nothing changed."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from ingestion.contracts import FAMILIES
from ingestion.landing import RawStore, land_file_drops
from orchestration.defs.jobs import landing_sensor
from orchestration.resources import NdcResource


def evaluate(home: Path):
    context = dg.build_sensor_context(resources={"ndc": NdcResource(home=str(home))})
    return landing_sensor(context)


def test_a_new_drop_requests_one_run_and_a_landed_one_none(ndc_home: Path):
    first = evaluate(ndc_home)
    assert isinstance(first, dg.RunRequest)
    assert evaluate(ndc_home).run_key == first.run_key  # the same drop, the same key: one run

    store = RawStore(ndc_home / "raw")
    for family in FAMILIES:
        land_file_drops(ndc_home / "landing", store, family)
    assert isinstance(evaluate(ndc_home), dg.SkipReason)

    redelivered = sorted((ndc_home / "landing" / "enterprise").rglob("*.csv"))[0]
    redelivered.write_bytes(redelivered.read_bytes() + b"")  # re-delivered: a new modification time
    again = evaluate(ndc_home)
    assert isinstance(again, dg.RunRequest) and again.run_key != first.run_key
    assert again.tags["ndc/deliveries"] == "1"


def test_an_empty_landing_folder_is_skipped(tmp_path: Path):
    assert isinstance(evaluate(tmp_path / "nothing"), dg.SkipReason)
