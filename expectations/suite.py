"""What a quality gate is: a suite of expectations over one batch of the build database, reported on the assets it
guards. The registry of every suite is `expectations/suites.py`.

Declaring a suite imports no Great Expectations: `build` receives the `great_expectations.expectations` module when
the gate runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Build = Callable[[Any], Sequence[Any]]


@dataclass(frozen=True)
class Suite:
    name: str
    batch: str  # a relation ("schema.name"), or a SELECT when the gate judges several relations as one
    build: Build
    assets: tuple[tuple[str, ...], ...]  # asset keys the result is reported on
    blocking: bool = True  # False: a warning that never stops publication (drift, missing deliveries)
    description: str = ""
    reads: tuple[str, ...] = ()  # the relations the batch stands for, where it reads files rather than naming them

    @property
    def check_name(self) -> str:
        return f"gx_{self.name}"

    @property
    def is_query(self) -> bool:
        return self.batch.lstrip().lower().startswith(("select", "with"))


def model_suite(relation: str, build: Build, *, warnings: bool = False, description: str = "") -> Suite:
    """The suite of a published dbt model (`schema.model`), reported on the model's asset.

    `warnings=True` declares the model's non-blocking suite, named `<model>_warnings`.
    """
    schema, model = relation.split(".")
    return Suite(
        name=f"{model}_warnings" if warnings else model,
        batch=relation,
        build=build,
        assets=((schema, model),),
        blocking=not warnings,
        description=description,
    )
