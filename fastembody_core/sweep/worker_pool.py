"""The Optuna engine's local workers: one pool process (``python -m fastembody_core.sweep.worker_pool``), started
before the study is prepared, loads torch and the env's plugins once while the driver sets up; told each worker's
share of the trials (one line on stdin), it forks the workers (they inherit all it loaded, as torch's DataLoader
workers do) and waits for them without polling. A worker's error stops the others and reaches the driver as one
line (``worker<i>.error``)."""
import argparse
import multiprocessing
import multiprocessing.connection
import os
import signal
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any, List, Optional

from ..errors import FastEmbodyError
from .spec import Sweep, SweepError, load_sweep

POOL_MODULE = "fastembody_core.sweep.worker_pool"


def threads_per_worker(workers: int) -> int:
    """The torch threads of each of ``workers`` processes: this machine's cores split among them."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // workers)


def error_file(sweep: Sweep, worker: int) -> Path:
    """Where worker ``worker`` leaves the one-line error that stopped it."""
    return sweep.dir / f"worker{worker}.error"


class WorkerPool:
    """The driver's handle on the pool process: start it (it warms up), then :meth:`run` the shares."""

    def __init__(self, sweep_file: Path, sweep: Sweep, workers: int, debug: bool = False):
        self.sweep, self.workers = sweep, workers
        threads = threads_per_worker(workers)
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        for i in range(workers):
            error_file(sweep, i).unlink(missing_ok=True)
        cmd = [sys.executable, "-m", POOL_MODULE, str(sweep_file), "--workers", str(sweep.file.workers),
               "--threads", str(threads), "--engine", "optuna"] + (["--debug"] if debug else [])
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, text=True)

    def run(self, shares: List[int]) -> None:
        """Run worker i's ``shares[i]`` trials and wait for all; raise the first worker's error as one line."""
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(" ".join(str(n) for n in shares) + "\n")
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):  # it already exited: its return code says why
            pass
        try:
            code = self.proc.wait()
        except KeyboardInterrupt:  # the workers got it too: their trials end interrupted
            self.proc.wait()
            raise
        if code != 0:
            found = [p for p in (error_file(self.sweep, i) for i in range(self.workers)) if p.is_file()]
            text = found[0].read_text(encoding="utf-8").strip() if found else ""
            raise SweepError(text or f"the sweep's worker pool exited with code {code}")

    def close(self) -> None:
        """Stop the pool if it still runs (SIGTERM: running trials save a checkpoint) and reap it."""
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait()


def _worker(sweep: Sweep, trials: int, worker: int, debug: bool) -> None:
    """One forked worker: run its trials; exit at once after (all is on disk; skips torch's teardown)."""
    from .optuna_engine import run_worker

    code = 0
    try:
        run_worker(sweep, trials, worker, debug)
    except FastEmbodyError as exc:
        if debug:
            traceback.print_exc()
        error_file(sweep, worker).write_text(str(exc), encoding="utf-8")
        code = getattr(exc, "exit_code", 1) or 1
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def serve(sweep: Sweep, shares: List[int], debug: bool = False) -> int:
    """Fork one worker per non-zero share and wait for them; the first failure stops the others (SIGTERM, as does
    a SIGTERM to this process); returns the first non-zero exit code, else 0."""
    fork = multiprocessing.get_context("fork")
    procs = [fork.Process(target=_worker, args=(sweep, n, i, debug)) for i, n in enumerate(shares) if n > 0]
    for proc in procs:
        proc.start()

    def stop(*_: Any) -> None:
        for proc in procs:
            if proc.exitcode is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    first = 0
    waiting = list(procs)
    while waiting:
        try:
            multiprocessing.connection.wait([p.sentinel for p in waiting])
        except KeyboardInterrupt:  # the workers got it too; wait for their trials to end interrupted
            first = first or 130
            continue
        for proc in [p for p in waiting if not p.is_alive()]:
            waiting.remove(proc)
            if proc.exitcode != 0 and not first:
                first = proc.exitcode if proc.exitcode and proc.exitcode > 0 else 1
                stop()
    return first


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog=POOL_MODULE, description="the Optuna engine's worker pool")
    parser.add_argument("sweep_file", type=Path)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--shares", default=None, help="trials per worker, e.g. '3 3' (default: read from stdin)")
    parser.add_argument("--engine", default="optuna")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    from .trial import warm_up

    try:
        sweep = load_sweep(args.sweep_file, engine=args.engine, workers=args.workers)
        warm_up(sweep, args.threads or threads_per_worker(args.workers))
        line = sys.stdin.readline() if args.shares is None else args.shares
    except FastEmbodyError as exc:  # the file changed since the driver read it
        print(f"Error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
    shares = [int(n) for n in line.split() if n.isdigit()]  # EOF: the driver is gone, nothing to run
    return serve(sweep, shares, args.debug) if any(shares) else 0


if __name__ == "__main__":  # pragma: no cover
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip torch's interpreter teardown (~0.5 s)
