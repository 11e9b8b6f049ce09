"""The keys BI tools see: primary keys, unique keys, foreign keys and NOT NULL on the published tables, read from
what the dbt project already declares about each model, so a new model gets them without a change here.

From the manifest (dbt_project/target/manifest.json), for every model of a published schema:
- NOT NULL: a column with a `not_null` constraint (the model's contract) or a `not_null` test.
- Keys: a column with a `unique` test is a unique key. The primary key is the first NOT NULL unique column named
  `*_key` (a dimension's surrogate key), else the first NOT NULL unique column (a fact's filing_id), else a
  `unique_combination` test whose columns are all NOT NULL (dim_zone_year's year and zone_code). Other unique
  columns stay unique keys (dim_region.division_code, which mart_region_summary references).
- Foreign keys: a `relationships` test from a column to a column of another published model of the same schema,
  when that column is its primary or a unique key. Tests on seeds (the reference code lists, not published) give
  none. The dimensions hold the unknown member (key '-1') that facts use where a code is missing, and the tests
  must pass before anything is published (dbt stops the run): the keys hold on every publication.

Only tests of severity error count: a warning may fail and still publish, and would then break the key.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

_REF = re.compile(r"""ref\(\s*['"]([^'"]+)['"]\s*\)""")


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    table: str  # in the same schema
    to_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableConstraints:
    primary_key: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    not_null: frozenset[str] = frozenset()
    foreign_keys: tuple[ForeignKey, ...] = ()

    def keys(self) -> set[tuple[str, ...]]:
        """Column sets a foreign key may reference."""
        return {self.primary_key, *self.unique} - {()}

    def without(self, dropped: Collection[str]) -> TableConstraints:
        """These constraints on a copy of the table that leaves out `dropped` columns (personal data)."""
        def kept(columns: tuple[str, ...]) -> bool:
            return not set(columns) & set(dropped)

        return TableConstraints(
            self.primary_key if kept(self.primary_key) else (),
            tuple(u for u in self.unique if kept(u)),
            frozenset(self.not_null - set(dropped)),
            tuple(f for f in self.foreign_keys if kept(f.columns)),
        )


Constraints = Mapping[tuple[str, str], TableConstraints]  # (schema, table) -> its constraints


@dataclass
class _Model:
    schema: str
    name: str
    columns: list[str]
    not_null: set[str] = field(default_factory=set)
    unique: list[str] = field(default_factory=list)
    combinations: list[tuple[str, ...]] = field(default_factory=list)
    references: list[tuple[str, str, str]] = field(default_factory=list)  # column, model name, its column


def constraints_from_manifest(manifest: Mapping, schemas: Iterable[str]) -> dict[tuple[str, str], TableConstraints]:
    """The constraints of every model of `schemas` that the manifest's models and tests declare."""
    schemas = set(schemas)
    models: dict[str, _Model] = {}
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] == "model" and node["schema"] in schemas:
            model = _Model(node["schema"], node.get("alias") or node["name"], list(node.get("columns") or {}))
            for name, column in (node.get("columns") or {}).items():
                if any(c.get("type") == "not_null" for c in column.get("constraints") or []):
                    model.not_null.add(name)
            models[unique_id] = model
    for node in manifest["nodes"].values():
        test = node.get("test_metadata") or {}
        model = models.get(node.get("attached_node") or "")
        if node["resource_type"] != "test" or model is None or str(node["config"].get("severity")).lower() != "error" \
                or node["config"].get("where"):
            continue
        kwargs, column = test.get("kwargs") or {}, node.get("column_name")
        if test.get("name") == "not_null" and column:
            model.not_null.add(column)
        elif test.get("name") == "unique" and column:
            model.unique.append(column)
        elif test.get("name") == "unique_combination" and kwargs.get("columns"):
            model.combinations.append(tuple(kwargs["columns"]))
        elif test.get("name") == "relationships" and column:
            target = _REF.search(str(kwargs.get("to") or ""))
            if target and kwargs.get("field"):
                model.references.append((column, target.group(1), kwargs["field"]))

    by_name = {(m.schema, m.name): m for m in models.values()}
    keys = {key: _keys(m) for key, m in by_name.items()}
    result = {}
    for key, model in by_name.items():
        primary, unique = keys[key]
        foreign = []
        for column, target_name, target_column in model.references:
            target = keys.get((model.schema, target_name))
            if target_name != model.name and target and (target_column,) in {target[0], *target[1]}:
                foreign.append(ForeignKey((column,), target_name, (target_column,)))
        order = {c: i for i, c in enumerate(model.columns)}
        result[key] = TableConstraints(primary, unique, frozenset(model.not_null | set(primary)),
                                       tuple(sorted(foreign, key=lambda f: order.get(f.columns[0], 0))))
    return result


def _keys(model: _Model) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    order = {c: i for i, c in enumerate(model.columns)}
    unique = sorted(dict.fromkeys(model.unique), key=lambda c: order.get(c, len(order)))
    candidates = [c for c in unique if c in model.not_null]
    surrogate = [c for c in candidates if c.endswith("_key")]
    if surrogate or candidates:
        primary: tuple[str, ...] = ((surrogate or candidates)[0],)
    else:
        primary = next((combo for combo in model.combinations if set(combo) <= model.not_null), ())
    return primary, tuple((c,) for c in unique if (c,) != primary)


def creation_order(tables: Iterable[str], constraints: Mapping[str, TableConstraints]) -> list[str]:
    """`tables` (of one schema) with every table after those its foreign keys reference, otherwise by name."""
    pending, done = sorted(tables), []
    while pending:
        ready = [t for t in pending
                 if all(f.table in done or f.table not in pending
                        for f in constraints.get(t, TableConstraints()).foreign_keys)]
        if not ready:  # a cycle of references: keep the rest by name (their foreign keys are left out)
            ready = pending[:1]
        done += ready
        pending = [t for t in pending if t not in ready]
    return done
