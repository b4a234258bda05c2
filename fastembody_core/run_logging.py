"""What a training run reports: episode statistics, ``metrics.jsonl``, TensorBoard and the console.

Scalar names follow rsl_rl's: ``Train/mean_reward``, ``Train/mean_episode_length``, ``Loss/<name>``,
``Perf/total_fps``, ``Perf/collection_time``, ``Perf/learning_time``, ``Episode/<term>``, ``Policy/<name>``.
``metrics.jsonl`` holds one JSON object per iteration with those keys plus ``iteration``, ``env_steps`` (all
ranks) and ``train_time`` (seconds spent in iterations, summed over resumes).

Console: with ``progress=True`` on a terminal, a rich progress bar with ETA and a summary line every
``log_interval`` iterations; on a non-terminal (CI logs), a plain summary line every ``log_interval``
iterations; with ``progress=False``, nothing.
"""
import collections
import datetime
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import IO, Any, Deque, Dict, List, Mapping, Optional, Sequence, Tuple

import torch

from .loggers import tracker_scalars
from .metrics_file import METRICS_FILE, read_metrics  # noqa: F401 - part of this module's API
from .resources import writing

RECENT_EPISODES = 100
"""Train/mean_reward and Train/mean_episode_length average the last 100 completed episodes (as rsl_rl)."""


class EpisodeStatistics:
    """Per-env running returns and lengths, the last 100 completed episodes, and ``extras["episode"]`` averages.

    ``step`` only does tensor maths on the env's device (no host sync); ``end_iteration`` moves the iteration's
    finished episodes to the host and returns the per-iteration scalars.
    """

    def __init__(self, num_envs: int, device: Any):
        self.reward_sum = torch.zeros(num_envs, dtype=torch.float32, device=device)
        self.episode_length = torch.zeros(num_envs, dtype=torch.float32, device=device)
        self.recent_returns: Deque[float] = collections.deque(maxlen=RECENT_EPISODES)
        self.recent_lengths: Deque[float] = collections.deque(maxlen=RECENT_EPISODES)
        self._finished: List[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self._extras_sum: Dict[str, Any] = {}
        self._extras_count: Dict[str, int] = {}

    def step(self, rewards: torch.Tensor, dones: torch.Tensor, extras: Mapping[str, Any]) -> None:
        """Account one env step."""
        done = dones.reshape(-1).bool()
        self.reward_sum += rewards.reshape(-1).float()
        self.episode_length += 1
        self._finished.append((done.clone(), self.reward_sum.clone(), self.episode_length.clone()))
        keep = (~done).float()
        self.reward_sum *= keep
        self.episode_length *= keep
        for group in ("episode", "log"):
            for key, value in (extras.get(group) or {}).items():
                self._add_extra(key if "/" in key else f"Episode/{key}", value)

    def _add_extra(self, key: str, value: Any) -> None:
        if isinstance(value, torch.Tensor):
            count, total = value.numel(), value.detach().float().sum()
        else:
            count, total = 1, float(value)
        if count == 0:
            return
        self._extras_sum[key] = self._extras_sum.get(key, 0.0) + total
        self._extras_count[key] = self._extras_count.get(key, 0) + count

    def end_iteration(self) -> Dict[str, float]:
        """Scalars for this iteration: Train/* (if any episode finished so far) and Episode/* averages."""
        if self._finished:
            done, returns, lengths = (torch.stack(x).cpu() for x in zip(*self._finished))
            self.recent_returns.extend(returns[done].tolist())
            self.recent_lengths.extend(lengths[done].tolist())
            self._finished = []
        out: Dict[str, float] = {}
        if self.recent_returns:
            out["Train/mean_reward"] = sum(self.recent_returns) / len(self.recent_returns)
            out["Train/mean_episode_length"] = sum(self.recent_lengths) / len(self.recent_lengths)
        for key, total in self._extras_sum.items():
            out[key] = float(total) / self._extras_count[key]
        self._extras_sum, self._extras_count = {}, {}
        return out

    def state_dict(self) -> Dict[str, Any]:
        return {
            "reward_sum": self.reward_sum.detach().cpu().clone(),
            "episode_length": self.episode_length.detach().cpu().clone(),
            "recent_returns": list(self.recent_returns),
            "recent_lengths": list(self.recent_lengths),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if tuple(state["reward_sum"].shape) == tuple(self.reward_sum.shape):
            self.reward_sum.copy_(state["reward_sum"])
            self.episode_length.copy_(state["episode_length"])
        self.recent_returns.clear()
        self.recent_returns.extend(float(x) for x in state["recent_returns"])
        self.recent_lengths.clear()
        self.recent_lengths.extend(float(x) for x in state["recent_lengths"])


def _finite(value: float) -> Optional[float]:
    return value if math.isfinite(value) else None


class RunLogger:
    """Writes one iteration's metrics to ``metrics.jsonl``, TensorBoard and the console.

    ``run_dir=None`` writes no files. On resume (``start_iteration > 0``) records after ``start_iteration``
    (written by the interrupted run after its last checkpoint) are dropped from both files.
    """

    def __init__(
        self,
        run_dir: Optional[Path],
        max_iterations: int,
        start_iteration: int = 0,
        tensorboard: bool = True,
        progress: bool = True,
        log_interval: int = 1,
        stream: Optional[IO[str]] = None,
        trackers: Sequence[Any] = (),
    ):
        self.max_iterations = max_iterations
        self.start_iteration = start_iteration
        self.log_interval = max(1, int(log_interval))
        self.stream = stream if stream is not None else sys.stdout
        self.trackers = list(trackers)
        """More trackers (``fastembody_core.loggers.MetricLogger``) that get what TensorBoard gets."""
        self._started = time.perf_counter()
        self._steady: Optional[Tuple[int, float]] = None
        self._metrics_file: Optional[IO[str]] = None
        self._writer: Any = None
        self._progress: Any = None
        self._task: Any = None
        self._metrics_path: Optional[Path] = None
        self._events_dir: Optional[Path] = None
        if run_dir is not None:
            run_dir = Path(run_dir)
            self._metrics_path = run_dir / METRICS_FILE
            with writing("metrics", self._metrics_path):
                run_dir.mkdir(parents=True, exist_ok=True)
                self._metrics_file = self._open_metrics(self._metrics_path, start_iteration)
            if tensorboard:
                self._events_dir = run_dir
                with writing("TensorBoard events into", run_dir):
                    self._writer = self._open_tensorboard(run_dir, start_iteration)
        is_tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.mode = "off" if not progress else ("rich" if is_tty else "plain")
        if self.mode == "rich":
            self._start_progress()

    # -- sinks -------------------------------------------------------------------------------------
    @staticmethod
    def _open_metrics(path: Path, start_iteration: int) -> IO[str]:
        if path.exists():
            kept = [r for r in read_metrics(path) if int(r.get("iteration", 0)) <= start_iteration]
            with open(path, "w", encoding="utf-8") as f:
                for record in kept:
                    f.write(json.dumps(record) + "\n")
        return open(path, "a", encoding="utf-8")

    @staticmethod
    def _open_tensorboard(run_dir: Path, start_iteration: int) -> Any:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:  # tensorboard is a dependency, but keep training if it is broken
            warnings.warn(f"TensorBoard disabled: {exc}", RuntimeWarning, stacklevel=3)
            return None
        return SummaryWriter(log_dir=str(run_dir), purge_step=start_iteration + 1 if start_iteration else None)

    def _start_progress(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        import rich.progress

        count = getattr(rich.progress, "MofNCompleteColumn", None)
        columns = [TextColumn("[bold]training"), BarColumn()]
        columns += [count()] if count is not None else []
        columns += [TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
        self._progress = Progress(*columns, console=Console(file=self.stream), transient=False)
        self._task = self._progress.add_task("training", total=self.max_iterations, completed=self.start_iteration)
        self._progress.start()

    # -- API ---------------------------------------------------------------------------------------
    def log(self, iteration: int, metrics: Mapping[str, float]) -> None:
        """Record iteration ``iteration`` (1-based count of completed iterations)."""
        if self._steady is None:  # the end of this process's first iteration: steady state starts here
            self._steady = (iteration, time.perf_counter())
        if self._metrics_file is not None:
            record: Dict[str, Any] = {"iteration": iteration}
            record.update({k: _finite(float(v)) for k, v in metrics.items()})
            with writing(f"the metrics of iteration {iteration} to", self._metrics_path or METRICS_FILE):
                self._metrics_file.write(json.dumps(record) + "\n")
                self._metrics_file.flush()
        if self._writer is not None:
            with writing("TensorBoard events into", self._events_dir or "."):
                for key, value in metrics.items():
                    if key not in ("env_steps", "train_time"):
                        self._writer.add_scalar(key, float(value), iteration)
        if self.trackers:
            scalars = tracker_scalars(metrics)
            for tracker in self.trackers:
                tracker.log(iteration, scalars)
        if self._progress is not None:
            self._progress.update(self._task, completed=iteration)
        if self.mode != "off" and (iteration % self.log_interval == 0 or iteration == self.max_iterations):
            self.message(self.summary_line(iteration, metrics))

    def summary_line(self, iteration: int, metrics: Mapping[str, float]) -> str:
        """``it 12/1500 | reward 3.21 | len 240 | 9,432 steps/s (collect 0.52s, learn 1.20s) | Loss ... | ETA``."""
        width = len(str(self.max_iterations))
        parts = [f"it {iteration:>{width}}/{self.max_iterations}"]
        if "Train/mean_reward" in metrics:
            parts.append(f"reward {metrics['Train/mean_reward']:.3g}")
            parts.append(f"len {metrics['Train/mean_episode_length']:.0f}")
        else:
            parts.append("reward -")
        if "Perf/total_fps" in metrics:
            parts.append(
                f"{metrics['Perf/total_fps']:,.0f} steps/s (collect {metrics.get('Perf/collection_time', 0):.2f}s, "
                f"learn {metrics.get('Perf/learning_time', 0):.2f}s)"
            )
        losses = [f"{k[5:]} {v:.3g}" for k, v in metrics.items() if k.startswith("Loss/")]
        if losses:
            parts.append(" ".join(losses))
        if self.mode == "plain" and iteration < self.max_iterations:
            eta = self.eta_seconds(iteration)
            parts.append("ETA after the next iteration" if eta is None else f"ETA {datetime.timedelta(seconds=int(eta))}")
        return " | ".join(parts)

    def eta_seconds(self, iteration: int) -> Optional[float]:
        """Seconds left, from steady-state iterations only: the first iteration of a process (torch.compile,
        allocator and cache warm-up) is timed apart and left out; None until a second iteration has run."""
        if self._steady is None or iteration <= self._steady[0]:
            return None
        first_iteration, first_time = self._steady
        return (time.perf_counter() - first_time) / (iteration - first_iteration) * (self.max_iterations - iteration)

    def message(self, text: str) -> None:
        """Print a line (above the progress bar when one is shown)."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        elif self.mode != "off":
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        """Stop the progress bar and close the files (StorageError if their last bytes cannot be written)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        trackers, self.trackers = self.trackers, []
        for tracker in trackers:
            tracker.close()
        writer, self._writer = self._writer, None
        metrics_file, self._metrics_file = self._metrics_file, None
        try:
            if writer is not None:
                with writing("TensorBoard events into", self._events_dir or "."):
                    writer.flush()
                    writer.close()
        finally:
            if metrics_file is not None:
                with writing("metrics", self._metrics_path or METRICS_FILE):
                    metrics_file.close()
