"""Ingestion: the outside world's filings into the typed raw layer. Plain Python; no orchestrator imports."""
