"""Fixtures the dbt tests share with other folders."""

from tests.deploy.conftest import service_instance  # noqa: F401 (the Spark parity test runs against it)
