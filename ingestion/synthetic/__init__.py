"""A stand-in for the outside world the pipeline cannot reach: provincial file drops (and, later, the reporting
system's API), generated from a seeded model of enterprises. Not part of ingestion proper: ingestion reads its
output exactly as it would read a province's."""
