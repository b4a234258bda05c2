"""Learning curves of a run as one PNG, from ``RUN_DIR/metrics.jsonl`` (matplotlib, Agg backend)."""
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .errors import FastEmbodyError
from .resources import writing
from .run_logging import METRICS_FILE, read_metrics

PathLike = Union[str, Path]
PLOT_FILE = "learning_curves.png"
PANELS: Sequence[Tuple[str, Sequence[str]]] = (
    ("Mean episode return", ("Train/mean_reward",)),
    ("Mean episode length", ("Train/mean_episode_length",)),
    ("Losses", ("Loss/",)),
    ("Learning rate", ("Loss/learning_rate",)),
    ("Throughput (env steps/s)", ("Perf/total_fps",)),
    ("Episode terms", ("Episode/",)),
    ("Policy", ("Policy/",)),
)


def _series(records: List[Dict[str, Any]], key: str, x_key: str) -> Tuple[List[float], List[float]]:
    xs, ys = [], []
    for record in records:
        value = record.get(key)
        if isinstance(value, (int, float)) and x_key in record:
            xs.append(float(record[x_key]))
            ys.append(float(value))
    return xs, ys


def plot_run(run_dir: PathLike, output: Optional[PathLike] = None) -> Path:
    """Write the run's learning curves (return, episode length, losses, throughput, episode terms) to a PNG
    (default ``RUN_DIR/learning_curves.png``) and return its path."""
    metrics_path = Path(run_dir) / METRICS_FILE
    if not metrics_path.is_file():
        raise FastEmbodyError(f"{metrics_path} not found: is {run_dir} a FastEmbody run directory?")
    records = read_metrics(metrics_path)
    if not records:
        raise FastEmbodyError(f"{metrics_path} holds no iteration yet")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise FastEmbodyError(
            f"plotting needs matplotlib ({exc}): pip install matplotlib (or fastembody-core[plot])"
        ) from exc

    x_key = "env_steps" if all("env_steps" in r for r in records) else "iteration"
    keys = sorted({k for r in records for k in r})
    exact = {p for _, prefixes in PANELS for p in prefixes if not p.endswith("/")}
    panels = []
    for title, prefixes in PANELS:
        chosen = [
            k for k in keys
            if any(k == p or (p.endswith("/") and k.startswith(p) and k not in exact) for p in prefixes)
        ]
        if chosen:
            panels.append((title, chosen, any(p.endswith("/") for p in prefixes)))
    if not panels:
        raise FastEmbodyError(f"{metrics_path} has no Train/, Loss/, Perf/, Episode/ or Policy/ scalars to plot")
    columns = 2 if len(panels) > 1 else 1
    rows = (len(panels) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(6 * columns, 3.2 * rows), squeeze=False)
    for ax, (title, chosen, grouped) in zip(axes.flat, panels):
        for key in chosen:
            xs, ys = _series(records, key, x_key)
            ax.plot(xs, ys, label=key.split("/", 1)[-1], linewidth=1.2)
        ax.set_title(title)
        ax.set_xlabel("env steps" if x_key == "env_steps" else "iteration")
        ax.grid(alpha=0.3)
        if grouped or len(chosen) > 1:
            ax.legend(fontsize=7, ncol=2)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(f"{Path(run_dir).resolve().name}: {len(records)} iterations", fontsize=10)
    fig.tight_layout()
    path = Path(output) if output is not None else Path(run_dir) / PLOT_FILE
    try:
        with writing("learning curves", path):
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(str(path), dpi=110)
    finally:
        plt.close(fig)
    return path
