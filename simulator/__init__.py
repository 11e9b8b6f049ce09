"""The simulator: a stand-in for the outside world the pipeline cannot reach here.

It generates a seeded world of enterprises, zones, carriers and contracts and writes it as the provinces' file drops
(`generate.py`, `drops.py`, with injected defects from `defects.py`) and as the national reporting system's HTTP API
(`api_service.py`, with faults from `faults.py`). It is a tool beside the pipeline, installed with the `simulator`
extra; the pipeline reads its output exactly as it reads a province's delivery and never imports it.
"""
