"""Stepping on terrain with one MjModel per thread: the envs' randomised dynamics are written in run by run.

An hfield is stored in every MjModel copy (the default map at upsample 4: 88 MB), so on terrain the env cannot keep
one copy per dynamics bucket (64 by default) or per env (``dynamics_buckets: 0``). This driver holds one model per
thread instead (thread 0 steps the env's own model) plus a table of dynamics rows (friction, payload, motor
strength); env ``i`` steps with row ``rows[i]``. Per policy step the envs are sorted by row (stable) and cut into
``nthread`` contiguous slices; each thread walks its slice run by run (a run = consecutive envs of one row): it
writes the row into its model with ``set_env_dynamics`` (exactly the fields a bucket copy differs in) and steps the
run with one ``mujoco.rollout`` call (``mj_step`` per env on MuJoCo without ``rollout``). The results are
bit-identical to stepping per-bucket copies; the price is one rollout call per distinct row per slice.
"""
import copy
from concurrent.futures import ThreadPoolExecutor
from typing import Any, List, Tuple

import numpy as np

from fastembody_core import EnvError

from .config import DRIVERS
from .driver import close_rollouts, default_nthread, rollout_available, run_split
from .model import ModelLayout, NominalDynamics, import_mujoco, set_env_dynamics


class SharedModelDriver:
    """The driver contract of :mod:`.driver` (``step``, ``close``) with models shared between envs (see module)."""

    name = "shared"

    def __init__(self, model: Any, layout: ModelLayout, nominal: NominalDynamics, num_envs: int, nthread: int,
                 use_rollout: bool):
        mujoco = import_mujoco()
        self._mujoco = mujoco
        self.nthread = max(1, min(int(nthread), int(num_envs)))
        self.models: List[Any] = [model] + [copy.copy(model) for _ in range(self.nthread - 1)]
        """One MjModel per thread (thread 0: the env's own); each holds the hfield once."""
        self.layout, self.nominal = layout, nominal
        self.rows = np.zeros(num_envs, dtype=np.int64)
        self.table = np.array([[1.0, 0.0, 1.0]])
        self._bounds = np.linspace(0, num_envs, self.nthread + 1).astype(np.int64)
        self._rollouts: List[Any] = []
        if use_rollout:
            from mujoco import rollout

            self._rollouts = [rollout.Rollout(nthread=0) for _ in self.models]
        self._datas = [mujoco.MjData(m) for m in self.models]
        self._pool = ThreadPoolExecutor(max_workers=self.nthread - 1) if self.nthread > 1 else None
        self._spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
        self._buffers: Tuple[np.ndarray, ...] = ()

    def assign(self, rows: np.ndarray, table: np.ndarray) -> None:
        """Env ``i`` steps with the dynamics ``table[rows[i]]`` = (friction, payload [kg], motor strength)."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.shape != self.rows.shape:
            raise ValueError(f"rows has shape {rows.shape}, expected {self.rows.shape}")
        self.rows = rows.copy()
        self.table = np.asarray(table, dtype=np.float64).copy()

    def _runs(self, sorted_rows: np.ndarray) -> List[List[Tuple[int, int, int]]]:
        """Per thread, the (start, end, row) runs of its slice of the sorted envs."""
        cuts = np.flatnonzero(sorted_rows[1:] != sorted_rows[:-1]) + 1
        out = []
        for k in range(self.nthread):
            lo, hi = int(self._bounds[k]), int(self._bounds[k + 1])
            edges = [lo] + [int(c) for c in cuts[(cuts > lo) & (cuts < hi)]] + [hi]
            out.append([(a, b, int(sorted_rows[a])) for a, b in zip(edges[:-1], edges[1:]) if b > a])
        return out

    def _run(self, k: int, runs: List[Tuple[int, int, int]], nstep: int) -> None:
        model, data = self.models[k], self._datas[k]
        state, ctrl, out_state, out_sensors = self._buffers
        mj = self._mujoco
        for lo, hi, row in runs:
            friction, payload, strength = (float(v) for v in self.table[row])
            set_env_dynamics(model, self.layout, self.nominal, friction, payload, strength)
            if self._rollouts:
                self._rollouts[k].rollout([model] * (hi - lo), [data], state[lo:hi], ctrl[lo:hi], nstep=nstep,
                                          state=out_state[lo:hi], sensordata=out_sensors[lo:hi], skip_checks=True)
                continue
            for i in range(lo, hi):
                data.qacc_warmstart[:] = 0.0
                mj.mj_setState(model, data, state[i], self._spec)
                data.ctrl[:] = ctrl[i, 0]
                mj.mj_step(model, data, nstep)
                mj.mj_getState(model, data, out_state[i, -1], self._spec)
                out_sensors[i, -1] = data.sensordata

    def step(self, state: np.ndarray, ctrl: np.ndarray, nstep: int, out_state: np.ndarray,
             out_sensors: np.ndarray) -> None:
        """``state[N, nstate]``, ``ctrl[N, nu]`` held for ``nstep`` steps -> ``out_state``, ``out_sensors``."""
        n = state.shape[0]
        if not self._buffers or self._buffers[1].shape[1] != nstep:
            self._buffers = (np.empty_like(state), np.empty((n, nstep, ctrl.shape[1])),
                             np.empty((n, nstep, state.shape[1])), np.empty((n, nstep, out_sensors.shape[1])))
        order = np.argsort(self.rows, kind="stable")
        sorted_state, sorted_ctrl, states, sensors = self._buffers
        np.take(state, order, axis=0, out=sorted_state)
        sorted_ctrl[:] = ctrl[order][:, None, :]
        runs = self._runs(self.rows[order])
        run_split(self._pool, lambda k: self._run(k, runs[k], nstep), self.nthread)
        out_state[order] = states[:, -1]
        out_sensors[order] = sensors[:, -1]

    def close(self) -> None:
        close_rollouts(self._pool, self._rollouts)
        self._pool = None


def make_shared_driver(kind: str, model: Any, layout: ModelLayout, nominal: NominalDynamics, num_envs: int,
                       nthread: int = 0) -> SharedModelDriver:
    """``kind`` as :func:`.driver.make_driver` ("rollout", "threads", "auto"); ``nthread`` 0 = one per core."""
    if kind not in DRIVERS:
        raise EnvError(f"unknown MuJoCo driver {kind!r}; use rollout, threads or auto")
    if kind == "rollout" and not rollout_available():
        raise EnvError("driver 'rollout' needs mujoco.rollout.Rollout (MuJoCo >= 3.3); use driver 'threads'")
    use_rollout = kind == "rollout" or kind == "auto" and rollout_available()
    return SharedModelDriver(model, layout, nominal, num_envs, nthread or default_nthread(), use_rollout)
