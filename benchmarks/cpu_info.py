"""The CPU model every benchmark prints beside its figures (benchmarks compare machines as ratios)."""
from pathlib import Path


def cpu_model() -> str:
    """``model name`` from /proc/cpuinfo (e.g. "AMD EPYC"), or "unknown"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"
