"""A run's ``metrics.jsonl`` (one JSON record per iteration, appended by rank 0), read without torch."""
import json
from pathlib import Path
from typing import Any, Dict, Iterable, List, Union

METRICS_FILE = "metrics.jsonl"
"""The per-iteration record file in a run dir."""


def parse_records(lines: Iterable[Union[str, bytes]]) -> List[Dict[str, Any]]:
    """The JSON object on each line; blank lines and a torn line (a crash mid-write) are skipped."""
    records = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def read_metrics(path: Path) -> List[Dict[str, Any]]:
    """The records of a ``metrics.jsonl``."""
    with open(path, "r", encoding="utf-8") as f:
        return parse_records(f)
