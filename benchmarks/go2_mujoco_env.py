"""go2-mujoco env steps/s vs raw MuJoCo stepping of the same model, at 64, 256 and 1024 envs, both cores.

"env" is ``Go2MujocoEnv.step`` with random actions U(-1, 1): everything (physics, observations, rewards,
falls and resets, randomisation). "raw" is the floor under it: the very same physics work replayed without
the env, i.e. every (state, PD target) batch the env handed to MuJoCo during its timed run, stepped again
4 x 5 ms on the same per-env MjModels and nothing else, back to back, both through the env's driver and
through MuJoCo's own thread pool (``Rollout(nthread=N)``); the faster of the two counts. "raw
random" is plain stepping from the standing pose with random targets (fallen robots put back by one NumPy
assignment), for reference; its states differ from the env's, so its cost does too. Also shown: single-model
``mj_step`` physics steps/s on one thread (the per-core cost). Repeats are interleaved and the best of each
is kept, so a busy neighbour hurts both alike. Last line: JSON with ``ratio_to_raw`` (env / raw, the minimum
over the sizes) and the per-size figures.

    flock /tmp/fastembody-cpu.lock python benchmarks/go2_mujoco_env.py
    python benchmarks/go2_mujoco_env.py --sizes 64 --seconds 1 --repeats 1      # quick look
"""
import argparse
import copy
import json
import time
from typing import Any, Dict, List, Tuple

import mujoco
import numpy as np
import torch

from fastembody_core import RunContext
from fastembody_go2 import robot
from fastembody_go2.mujoco.config import Go2MujocoParams
from fastembody_go2.mujoco.driver import default_nthread, make_driver
from fastembody_go2.mujoco.env import make_go2_mujoco
from fastembody_go2.mujoco.model import home_state, load_model, model_layout


def action_batches(n: int, count: int, seed: int) -> List[np.ndarray]:
    """Random actions U(-1, 1) (targets q0 +- 0.25 rad): the robots stumble and fall now and then."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.0, 1.0, (n, 12)).astype(np.float32) for _ in range(count)]


def raw_rate(n: int, nthread: int, driver: str, seconds: float, physics) -> float:
    model = load_model(physics)
    layout = model_layout(model)
    models = [copy.copy(model) for _ in range(n)]
    drv = make_driver(driver, models, nthread)
    home = home_state(model, layout)
    state = np.tile(home, (n, 1))
    out_state, out_sensors = np.empty_like(state), np.empty((n, model.nsensordata))
    q0 = np.asarray(robot.DEFAULT_JOINT_POS)[layout.joint_of_actuator]
    batches = action_batches(n, 64, seed=1)
    steps, i, start = 0, 0, time.perf_counter()
    try:
        while time.perf_counter() - start < seconds:
            ctrl = q0 + robot.ACTION_SCALE * batches[i % 64][:, layout.joint_of_actuator]
            drv.step(state, ctrl, robot.DECIMATION, out_state, out_sensors)
            state, out_state = out_state, state
            fallen = state[:, 3] < 0.15
            state[fallen] = home
            steps, i = steps + n, i + 1
        return steps / (time.perf_counter() - start)
    finally:
        drv.close()


def env_rate(n: int, nthread: int, driver: str, seconds: float) -> Tuple[float, float]:
    """(env steps/s, raw steps/s of the same MuJoCo inputs replayed without the env)."""
    env = make_go2_mujoco(Go2MujocoParams(num_envs=n, nthread=nthread, driver=driver), RunContext(seed=0))
    batches = [torch.from_numpy(a) for a in action_batches(n, 64, seed=1)]
    inputs: List[Tuple[np.ndarray, np.ndarray]] = []
    step = env.driver.step

    def recording_step(state: np.ndarray, ctrl: np.ndarray, *args: Any) -> None:
        inputs.append((state.copy(), ctrl.copy()))
        step(state, ctrl, *args)

    steps, i = 0, 0
    try:
        with torch.inference_mode():
            env.step(batches[0])
            env.driver.step = recording_step
            start = time.perf_counter()
            while time.perf_counter() - start < seconds:
                env.step(batches[i % 64])
                steps, i = steps + n, i + 1
            env_steps_per_s = steps / (time.perf_counter() - start)
        env.driver.step = step
        replay = make_driver(driver, env.models, nthread)
        out_state, out_sensors = np.empty_like(env.state), np.empty_like(env.sensors)
        start = time.perf_counter()
        for state, ctrl in inputs:
            replay.step(state, ctrl, robot.DECIMATION, out_state, out_sensors)
        raw_steps_per_s = len(inputs) * n / (time.perf_counter() - start)
        replay.close()
        return env_steps_per_s, max(raw_steps_per_s, pool_replay_rate(env.models, inputs, nthread))
    finally:
        env.close()


def pool_replay_rate(models: List[Any], inputs: List[Tuple[np.ndarray, np.ndarray]], nthread: int) -> float:
    """The same inputs through MuJoCo's own thread pool (``Rollout(nthread=N)``, its default chunking)."""
    from mujoco import rollout

    n, model = len(models), models[0]
    datas = [mujoco.MjData(model) for _ in range(nthread)]
    ctrl3 = np.empty((n, robot.DECIMATION, model.nu))
    states = np.empty((n, robot.DECIMATION, inputs[0][0].shape[1]))
    sensors = np.empty((n, robot.DECIMATION, model.nsensordata))
    with rollout.Rollout(nthread=nthread) as pool:
        start = time.perf_counter()
        for state, ctrl in inputs:
            ctrl3[:] = ctrl[:, None, :]
            pool.rollout(models, datas, state, ctrl3, nstep=robot.DECIMATION, state=states, sensordata=sensors,
                         skip_checks=True)
        return len(inputs) * n / (time.perf_counter() - start)


def single_model_rate(seconds: float, physics) -> float:
    model = load_model(physics)
    layout = model_layout(model)
    data = mujoco.MjData(model)
    home = home_state(model, layout)
    mujoco.mj_setState(model, data, home, mujoco.mjtState.mjSTATE_FULLPHYSICS)
    q0 = np.asarray(robot.DEFAULT_JOINT_POS)[layout.joint_of_actuator]
    batches = action_batches(1, 64, seed=2)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        data.ctrl[:] = q0 + robot.ACTION_SCALE * batches[(steps // 4) % 64][0, layout.joint_of_actuator]
        mujoco.mj_step(model, data, 4)
        steps += 4
        if data.qpos[2] < 0.15:
            mujoco.mj_setState(model, data, home, mujoco.mjtState.mjSTATE_FULLPHYSICS)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--seconds", type=float, default=4.0, help="timed seconds per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (best kept)")
    parser.add_argument("--nthread", type=int, default=0, help="MuJoCo threads (0: one per core)")
    parser.add_argument("--driver", default="auto", choices=["auto", "rollout", "threads"])
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    nthread = args.nthread or default_nthread()
    physics = Go2MujocoParams().physics
    single = max(single_model_rate(args.seconds / 2, physics) for _ in range(args.repeats))
    rows: Dict[int, Dict[str, float]] = {}
    for n in args.sizes:
        env_runs, raw_runs, random_runs = [], [], []
        for _ in range(args.repeats):
            env_steps, raw_steps = env_rate(n, nthread, args.driver, args.seconds)
            env_runs.append(env_steps)
            raw_runs.append(raw_steps)
            random_runs.append(raw_rate(n, nthread, args.driver, args.seconds / 2, physics))
        rows[n] = {"env_steps_per_s": max(env_runs), "raw_steps_per_s": max(raw_runs),
                   "raw_random_steps_per_s": max(random_runs)}
        rows[n]["ratio_to_raw"] = rows[n]["env_steps_per_s"] / rows[n]["raw_steps_per_s"]
    print(f"MuJoCo {mujoco.__version__}, {nthread} threads, driver {args.driver}; single model, one thread: "
          f"{single:,.0f} physics steps/s = {single / 4:,.0f} env-steps/s")
    header = (f"{'envs':>6}{'env steps/s':>14}{'raw steps/s':>14}{'env / raw':>11}{'raw random':>13}"
              f"{'raw random / (1 thread x ' + str(nthread) + ')':>32}")
    print(header)
    print("-" * len(header))
    for n, r in rows.items():
        scaling = r["raw_random_steps_per_s"] / (single / 4 * nthread)
        print(f"{n:>6}{r['env_steps_per_s']:>14,.0f}{r['raw_steps_per_s']:>14,.0f}{r['ratio_to_raw']:>11.2f}"
              f"{r['raw_random_steps_per_s']:>13,.0f}{scaling:>32.2f}")
    summary = {
        "benchmark": "go2_mujoco_env",
        "mujoco": mujoco.__version__,
        "nthread": nthread,
        "driver": args.driver,
        "single_model_physics_steps_per_s": round(single),
        "sizes": {str(n): {k: round(v, 3) if k == "ratio_to_raw" else round(v) for k, v in r.items()}
                  for n, r in rows.items()},
        "ratio_to_raw": round(min(r["ratio_to_raw"] for r in rows.values()), 3),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
