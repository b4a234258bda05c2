"""Batched MuJoCo stepping on several threads, with no Python loop per env per physics step.

``models`` is the caller's list, kept by reference: an env may point an entry at another MjModel between
calls (e.g. a new randomised one at a reset). Both drivers do the same thing: for every env ``i``, set ``state[i]`` (MuJoCo's FULLPHYSICS state vector:
time, qpos, qvel), step ``nstep`` physics steps of ``models[i]`` with a fixed ``ctrl[i]``, and write the final
state and the sensor values of the last step (MuJoCo computes sensors at the start of a step, so they lag the
final state by one physics step). The warm-start accelerations start from zero at every call, so the result
does not depend on which thread ran which env.

* :class:`RolloutDriver` uses ``mujoco.rollout.Rollout`` (MuJoCo >= 3.3): per policy step, one call into C++
  per thread, each on its slice of the envs;
* :class:`ThreadPoolDriver` works with any MuJoCo 3: a Python thread pool over chunks of envs; ``mj_step``
  releases the GIL, so the threads run in parallel while Python only loops once per env per policy step.
"""
import contextlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, List, Tuple

import numpy as np
import torch

from fastembody_core import EnvError

from .model import import_mujoco


@contextlib.contextmanager
def single_torch_thread() -> Iterator[None]:
    """torch's own worker threads fight MuJoCo's for the cores (10x slower steps): keep torch on one thread."""
    previous = torch.get_num_threads()
    if previous != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if previous != 1:
            torch.set_num_threads(previous)


def default_nthread() -> int:
    """One thread per CPU this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def run_split(pool: Any, run: Callable[[int], None], parts: int) -> None:
    """Run ``run(0)`` in this thread and ``run(1)`` .. ``run(parts - 1)`` on ``pool`` (a ThreadPoolExecutor, or
    None: part 0 only); return when all are done, re-raising the first error."""
    futures = [pool.submit(run, k) for k in range(1, parts)] if pool is not None else []
    try:
        run(0)
    finally:
        for future in futures:
            future.result()


def close_rollouts(pool: Any, rollouts: List[Any]) -> None:
    """Shut ``pool`` down (None: nothing) and close every ``mujoco.rollout.Rollout`` in ``rollouts`` (emptied)."""
    if pool is not None:
        pool.shutdown(wait=True)
    for r in rollouts:
        r.close()
    rollouts.clear()


class RolloutDriver:
    """``mujoco.rollout`` on ``nthread`` contiguous slices of the envs, one slice per thread.

    The calling thread steps the first slice and ``nthread - 1`` Python threads the others, each with its own
    single-threaded ``Rollout`` (which releases the GIL). MuJoCo's own pool (``Rollout(nthread=N)``) balances
    finer chunks, but when the caller has just run Python (as an env does between policy steps) its next
    call ran ~20 % slower on the 2-core dev machine (10.6 vs 8.9 ms at 256 envs), while slices keep the
    back-to-back speed.
    """

    name = "rollout"

    def __init__(self, models: List[Any], nthread: int):
        mujoco = import_mujoco()
        from mujoco import rollout

        self.models = models
        n = len(self.models)
        self.nthread = max(1, min(int(nthread), n))
        bounds = np.linspace(0, n, self.nthread + 1).astype(int)
        self._slices: List[Tuple[int, int]] = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
        self._rollouts = [rollout.Rollout(nthread=0) for _ in self._slices]
        self._datas = [[mujoco.MjData(self.models[0])] for _ in self._slices]
        self._pool = ThreadPoolExecutor(max_workers=self.nthread - 1) if self.nthread > 1 else None
        self._ctrl = self._states = self._sensors = None

    def _run(self, k: int, state: np.ndarray, nstep: int) -> None:
        lo, hi = self._slices[k]
        self._rollouts[k].rollout(
            self.models[lo:hi], self._datas[k], state[lo:hi], self._ctrl[lo:hi], nstep=nstep,
            state=self._states[lo:hi], sensordata=self._sensors[lo:hi], skip_checks=True,
        )

    def step(self, state: np.ndarray, ctrl: np.ndarray, nstep: int, out_state: np.ndarray,
             out_sensors: np.ndarray) -> None:
        """``state[N, nstate]``, ``ctrl[N, nu]`` held for ``nstep`` steps -> ``out_state[N, nstate]``,
        ``out_sensors[N, nsensordata]`` (float64, C-contiguous)."""
        n, model = len(self.models), self.models[0]
        if self._ctrl is None or self._ctrl.shape[1] != nstep:
            self._ctrl = np.empty((n, nstep, model.nu))
            self._states = np.empty((n, nstep, state.shape[1]))
            self._sensors = np.empty((n, nstep, model.nsensordata))
        self._ctrl[:] = ctrl[:, None, :]
        state = np.ascontiguousarray(state)
        run_split(self._pool, lambda k: self._run(k, state, nstep), len(self._slices))
        out_state[:] = self._states[:, -1]
        out_sensors[:] = self._sensors[:, -1]

    def close(self) -> None:
        close_rollouts(self._pool, self._rollouts)
        self._pool = None


class ThreadPoolDriver:
    """A thread pool over contiguous chunks of envs, one MjData per env."""

    name = "threads"

    def __init__(self, models: List[Any], nthread: int):
        self._mujoco = import_mujoco()
        self.models = models
        self.nthread = max(1, int(nthread))
        self._datas = [self._mujoco.MjData(m) for m in self.models]
        n = len(self.models)
        bounds = np.linspace(0, n, self.nthread + 1).astype(int)
        self._chunks: List[Tuple[int, int]] = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
        self._pool = ThreadPoolExecutor(max_workers=len(self._chunks)) if len(self._chunks) > 1 else None
        self._spec = self._mujoco.mjtState.mjSTATE_FULLPHYSICS

    def _run(self, lo: int, hi: int, state: np.ndarray, ctrl: np.ndarray, nstep: int, out_state: np.ndarray,
             out_sensors: np.ndarray) -> None:
        mj = self._mujoco
        for i in range(lo, hi):
            model, data = self.models[i], self._datas[i]
            data.qacc_warmstart[:] = 0.0
            mj.mj_setState(model, data, state[i], self._spec)
            data.ctrl[:] = ctrl[i]
            mj.mj_step(model, data, nstep)
            mj.mj_getState(model, data, out_state[i], self._spec)
            out_sensors[i] = data.sensordata

    def step(self, state: np.ndarray, ctrl: np.ndarray, nstep: int, out_state: np.ndarray,
             out_sensors: np.ndarray) -> None:
        """Same contract as :meth:`RolloutDriver.step`."""
        args = (state, ctrl, nstep, out_state, out_sensors)
        if self._pool is None:
            for lo, hi in self._chunks:
                self._run(lo, hi, *args)
            return
        futures = [self._pool.submit(self._run, lo, hi, *args) for lo, hi in self._chunks]
        for future in futures:
            future.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def rollout_available() -> bool:
    """True when this MuJoCo has ``mujoco.rollout.Rollout`` with a thread pool (MuJoCo >= 3.3)."""
    import_mujoco()
    try:
        from mujoco import rollout
    except ImportError:
        return False
    return hasattr(rollout, "Rollout")


def make_driver(kind: str, models: List[Any], nthread: int = 0) -> Any:
    """``kind`` is "rollout", "threads" or "auto" (rollout when available); ``nthread`` 0 = one per core."""
    nthread = nthread or default_nthread()
    if kind == "auto":
        kind = "rollout" if rollout_available() else "threads"
    if kind == "rollout":
        if not rollout_available():
            raise EnvError("driver 'rollout' needs mujoco.rollout.Rollout (MuJoCo >= 3.3); use driver 'threads'")
        return RolloutDriver(models, nthread)
    if kind == "threads":
        return ThreadPoolDriver(models, nthread)
    raise EnvError(f"unknown MuJoCo driver {kind!r}; use rollout, threads or auto")
