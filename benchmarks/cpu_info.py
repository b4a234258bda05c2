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


if __name__ == "__main__":  # python benchmarks/cpu_info.py: the machine the other benchmarks' figures belong to
    import json
    import os

    model, threads = cpu_model(), os.cpu_count()
    print(f"{'CPU model':<12} {model}\n{'logical CPUs':<12} {threads}")
    print(json.dumps({"benchmark": "cpu_info", "cpu": model, "logical_cpus": threads}))
