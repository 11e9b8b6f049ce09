"""Orchestration: Dagster assets, checks, jobs and schedules that wire the layers together, and the `ndc` CLI.

It owns no business logic: each asset is a few lines calling ingestion/, dbt_project/, expectations/ or warehouse/.
"""
