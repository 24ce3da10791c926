"""Where the end-to-end benchmarks leave their reports: ``bench/results/NAME-DATE.json``."""

import json
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"


def save_report(name: str, report: object) -> Path:
    """Write ``report`` as indented JSON to a new dated file and return its path."""
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    return out
