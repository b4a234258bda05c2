"""One run of a trial as a torchrun job of ``nproc`` processes (sweep file ``nproc: N``, Ray engine).

The run is launched exactly as ``fastembody run CONFIG --nproc N`` launches it (``distributed.torchrun_command``
over ``fastembody_core run``), with the trial's config written beside its run dir (``seed<k>.json``) and the job's
console output in the run dir's ``train.log``. Iteration callbacks do not reach torchrun's workers, so the trial
follows the run's ``metrics.jsonl`` (rank 0 writes one record per iteration) and hands each record to the same
callback an in-process run calls; when that callback returns a reason (ASHA stopped the trial), the job gets
SIGTERM, on which every rank finishes its iteration and rank 0 saves a checkpoint, as a pruned in-process run does
(the trial's value is taken from the metrics logged by then). The job dies with the trial: it is SIGTERMed when
the launching thread ends (Linux ``PR_SET_PDEATHSIG``) and killed if it outlives the stop by ``STOP_GRACE_S``.
"""
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional

from ..distributed import torchrun_command
from ..errors import FastEmbodyError
from ..metrics_file import METRICS_FILE, parse_records
from .trial import CONSOLE_FILE

IterationCallback = Callable[[int, Mapping[str, float]], Optional[str]]
POLL_S = 0.2
STOP_GRACE_S = 60.0
"""How long a stopped job may take to save its checkpoint and exit before it is killed."""


def _pdeathsig() -> Optional[Callable[[], None]]:
    """A ``preexec_fn`` that makes the child get SIGTERM when the thread that launched it ends (a Ray actor ended
    mid-trial); ``prctl`` is looked up here, in the parent, so the forked child only calls it. None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def set_pdeathsig() -> None:
        prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG

    return set_pdeathsig


class MetricsTail:
    """The records appended to a ``metrics.jsonl`` since the last read (complete lines only)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def new_records(self) -> List[Dict[str, Any]]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        end = data.rfind(b"\n") + 1
        self.offset += end
        return parse_records(data[:end].splitlines())


def _stop(job: "subprocess.Popen[bytes]") -> None:
    """SIGTERM torchrun (it forwards it to the ranks, which finish the iteration, save and exit) without waiting:
    Ray ends a stopped trial's actor soon after, so the trial records its outcome first. Its process group is
    killed if it still runs ``STOP_GRACE_S`` later (while this process lives)."""
    if job.poll() is not None:
        return
    job.send_signal(signal.SIGTERM)

    def kill_if_running() -> None:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()

    timer = threading.Timer(STOP_GRACE_S, kill_if_running)
    timer.daemon = True
    timer.start()


def _last_error(console: Path) -> str:
    """The last ``Error: ...`` line a rank printed (the CLI's one-line error), if any."""
    try:
        lines = console.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    errors = [ln.strip() for ln in lines if ln.startswith("Error: ")]
    return f": {errors[-1]}" if errors else ""


def run_torchrun(config: Mapping[str, Any], config_file: Path, run_dir: Path, nproc: int, threads: int,
                 callback: IterationCallback, debug: bool = False) -> Dict[str, Any]:
    """Train ``config`` in ``run_dir`` over ``nproc`` torchrun processes of ``threads`` torch threads each, calling
    ``callback(iteration, metrics)`` per iteration; returns ``{"run_dir", "stopped"?}`` like ``run_experiment``."""
    data = json.loads(json.dumps(config))
    if (data.get("run") or {}).get("preview"):
        data["run"]["preview"] = False  # an in-process trial writes no preview either
    config_file.write_text(json.dumps(data, indent=1), encoding="utf-8")
    args = (["--debug"] if debug else []) + ["run", str(config_file), "--run-dir", str(run_dir)]
    env = dict(os.environ, OMP_NUM_THREADS=str(max(1, threads)))
    tail = MetricsTail(run_dir / METRICS_FILE)
    stopped: Optional[str] = None
    with open(run_dir / CONSOLE_FILE, "ab") as console:
        job = subprocess.Popen(torchrun_command(nproc, args), stdout=console, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True, preexec_fn=_pdeathsig())
        try:
            while True:
                running = job.poll() is None
                for record in tail.new_records():
                    stopped = callback(int(record.get("iteration", 0)), record)
                    if stopped:
                        break
                if stopped or not running:
                    break
                time.sleep(POLL_S)
        finally:
            _stop(job)  # at once: Ray ends a stopped trial's actor moments after telling it
    if stopped is None and job.returncode != 0:
        raise FastEmbodyError(f"torchrun: {nproc}-process run in {run_dir} failed (exit code {job.returncode})"
                              f"{_last_error(run_dir / CONSOLE_FILE)}; see {run_dir / CONSOLE_FILE}")
    summary: Dict[str, Any] = {"run_dir": str(run_dir)}
    if stopped is not None:
        summary["stopped"] = stopped
    return summary
