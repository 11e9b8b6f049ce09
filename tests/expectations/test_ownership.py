"""No invariant is checked by both tools: dbt's tests and contracts own the models' invariants, the Great
Expectations suites the raw and publication gates (the rule is in expectations/suites.py).

Both sides are read without running anything: dbt's from the manifest `make install` builds, GX's from the suites'
expectations. An invariant is (relation, columns, kind), with the kinds dbt's generic tests name; accepted values
and relationships are one kind, a column's values limited to a set, whoever lists the set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from expectations.rules import IN_SET, NOT_NULL, RANGE, UNIQUE
from expectations.suites import SUITES
from orchestration.settings import DBT_PROJECT_DIR

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"

Invariant = tuple[str, frozenset[str], str]  # relation ("schema.name"), columns, kind

DBT_KINDS = {"unique": UNIQUE, "unique_combination": UNIQUE, "not_null": NOT_NULL, "accepted_values": IN_SET,
             "relationships": IN_SET, "values_between": RANGE}
GX_KINDS = {"expect_column_values_to_not_be_null": NOT_NULL, "expect_column_values_to_be_in_set": IN_SET,
            "expect_column_values_to_be_between": RANGE}


def relations(manifest: dict) -> dict[str, str]:
    """The relation each model or seed is; a staging model is its raw source (it only renames and casts)."""
    named = {uid: f"{n['schema']}.{n.get('alias') or n['name']}" for uid, n in manifest["nodes"].items()
             if n["resource_type"] in ("model", "seed")}
    sources = {uid: f"{s['schema']}.{s['identifier']}" for uid, s in manifest["sources"].items()}
    for uid, node in manifest["nodes"].items():
        read = [sources[d] for d in node.get("depends_on", {}).get("nodes", []) if d in sources]
        if node["resource_type"] == "model" and len(read) == 1:
            named[uid] = read[0]
    return named


def dbt_invariants(manifest: dict) -> Iterator[tuple[Invariant, str]]:
    named = relations(manifest)
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] == "test" and node.get("test_metadata"):
            kind = DBT_KINDS.get(node["test_metadata"]["name"])
            kwargs = node["test_metadata"]["kwargs"]
            columns = kwargs.get("columns") or [kwargs.get("column_name") or node.get("column_name")]
            if kind and node.get("attached_node") in named:
                yield (named[node["attached_node"]], frozenset(columns), kind), node["name"]
        if node["resource_type"] == "model" and node["config"].get("contract", {}).get("enforced"):
            for column in node["columns"].values():
                if any(c["type"] == "not_null" for c in column.get("constraints", [])):
                    yield (named[uid], frozenset([column["name"]]), NOT_NULL), f"contract of {node['name']}"


def gx_invariants() -> Iterator[tuple[Invariant, str]]:
    import great_expectations.expectations as gxe

    for suite in SUITES.values():
        batches = [suite.batch] if not suite.is_query else [".".join(asset) for asset in suite.assets]
        for expectation in suite.build(gxe):
            meta = expectation.meta or {}
            declared = [(c["kind"], c["columns"]) for c in meta.get("invariants", [])]
            kind = GX_KINDS.get(expectation.expectation_type)
            if kind:
                declared.append((kind, [expectation.column]))
            name = f"{suite.check_name}: {meta.get('rule') or expectation.expectation_type}"
            for batch in batches:
                for kind, columns in declared:
                    yield (batch, frozenset(columns), kind), name


@pytest.fixture(scope="module")
def manifest() -> dict:
    assert MANIFEST.exists(), f"{MANIFEST} is missing: run `make install`"
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def test_no_invariant_is_checked_by_both_dbt_and_great_expectations(manifest: dict):
    dbt: dict[Invariant, list[str]] = {}
    for invariant, test in dbt_invariants(manifest):
        dbt.setdefault(invariant, []).append(test)
    both = sorted(
        f"{relation} ({', '.join(sorted(columns))}) {kind}: dbt {dbt[(relation, columns, kind)]} and {gate}"
        for (relation, columns, kind), gate in gx_invariants()
        if (relation, columns, kind) in dbt
    )
    assert not both, "checked by both tools (keep the owner's check, see expectations/suites.py):\n" + "\n".join(both)


def test_the_comparison_sees_both_sides(manifest: dict):
    # An empty side would make the test above pass vacuously: each tool must show invariants of each kind it owns.
    dbt_kinds = {kind for (_, _, kind), _ in dbt_invariants(manifest)}
    gx_kinds = {kind for (_, _, kind), _ in gx_invariants()}
    assert dbt_kinds == {UNIQUE, NOT_NULL, IN_SET, RANGE}
    assert gx_kinds >= {UNIQUE, NOT_NULL, IN_SET, RANGE}
