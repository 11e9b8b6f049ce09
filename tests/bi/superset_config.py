"""Superset's configuration for the BI test (tests/bi): a throwaway instance on loopback, its metadata in
$SUPERSET_HOME. Nothing here is for a real deployment."""

import os

SECRET_KEY = "ndc-bi-test-instance-on-loopback-only"  # pragma: allowlist secret
SQLALCHEMY_DATABASE_URI = "sqlite:///" + os.path.join(os.environ["SUPERSET_HOME"], "superset.db")
WTF_CSRF_ENABLED = False  # the test drives the REST API with a bearer token
TALISMAN_ENABLED = False
PREVENT_UNSAFE_DB_CONNECTIONS = False  # the DuckDB serving copy is a local file
