"""The same policy bundle walked in go2-mujoco directly and through the robot runner over DDS (issue 15).

* **direct**: ``--episodes`` go2-mujoco robots in one env, the bundle's ONNX (onnxruntime, as the runner runs it)
  fed the env's own observations, ``--seconds`` of the command from the first step;
* **dds**: per episode a fresh one-robot go2-mujoco env behind ``fastembody_deploy.sim_bridge`` (PD at the
  physics rate, state published every physics step) and the unchanged runner, ``fastembody-deploy``, in a child
  process on ``lo``: passive, stand up at 0.5 s, policy at 3 s, then ``--seconds`` of the command.

Both use nominal dynamics (friction 1, no payload, motor strength 1, no pushes, no observation noise).
Tracking error = mean |v_xy - command| from 1 s after the policy takes over; a fall = base under 0.15 m or tilted
past the bundle's limit (direct: the env's own termination) while the policy is in control. In the first DDS
episode the bridge also computes the env's own observation of every state it publishes (go2-mujoco's code path,
``JointLevelSim.observation``) and compares it, term by term, with what the runner built from the DDS message.
Targets: DDS tracking within 0.03 m/s of direct, no falls direct doesn't have, control-loop p99 within 20 % of the
control period, observations equal to 1e-5. Run it alone (two torch processes on 2 cores slow each other).

    python benchmarks/deploy_sim2sim.py --bundle runs/<run>/exported/bundle
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_info import cpu_model  # noqa: E402

from fastembody_core import make_env  # noqa: E402
from fastembody_core.contracts import RunContext  # noqa: E402
from fastembody_deploy.bundle import OnnxPolicy, load_bundle  # noqa: E402
from fastembody_deploy.sim_session import FALL_HEIGHT_M, run_sim_session  # noqa: E402

STAND_AT, WALK_AT = 0.5, 3.0


def nominal(seconds: float, num_envs: int) -> Dict[str, Any]:
    return {"num_envs": num_envs, "compile": False, "noise_level": 0.0, "episode_length_s": seconds + 10.0,
            "randomization": {"friction_range": [1.0, 1.0], "payload_mass_range": [0.0, 0.0],
                              "motor_strength_range": [1.0, 1.0], "push_robots": False,
                              "init_joint_pos_scale": [1.0, 1.0], "init_base_vel": 0.0}}


def run_direct(bundle: Any, episodes: int, seconds: float, command: List[float]) -> Dict[str, Any]:
    import torch

    env = make_env("go2-mujoco", nominal(seconds, episodes), RunContext(seed=1))
    groups = bundle.manifest["observation"]["groups"]
    policies = [OnnxPolicy(bundle) for _ in range(episodes)]
    env.set_command(command)
    obs = env.get_observations()
    fell = np.zeros(episodes, dtype=bool)
    errors: List[float] = []
    steps = int(round(seconds / env.step_dt))
    start = time.perf_counter()
    for k in range(steps):
        flat = torch.cat([obs[g].reshape(episodes, -1) for g in groups], dim=-1).numpy()
        actions = np.stack([p.act(flat[i]) for i, p in enumerate(policies)])
        obs, _, dones, _ = env.step(torch.as_tensor(actions, dtype=torch.float32))
        fell |= dones.cpu().numpy().astype(bool)
        if k * env.step_dt >= 1.0:
            v = env.base_lin_vel[:, :2].cpu().numpy()
            err = np.linalg.norm(v - np.asarray(command[:2]), axis=1)
            errors.extend(err[~fell].tolist())
    wall = time.perf_counter() - start
    env.close()
    return {"tracking_error": float(np.mean(errors)) if errors else float("nan"), "falls": int(fell.sum()),
            "episodes": episodes, "wall_s": wall}


def run_dds(bundle: Any, episodes: int, seconds: float, command: List[float]) -> Dict[str, Any]:
    errors, falls, periods, term_diffs = [], 0, [], {}
    env_obs: Dict[int, np.ndarray] = {}
    wall = time.perf_counter()
    for episode in range(episodes):
        env = make_env("go2-mujoco", nominal(seconds, 1), RunContext(seed=1 + episode))
        sim = env.joint_level_sim(0)
        check = episode == 0

        def watch(bridge: Any) -> None:
            def on_publish(state: Dict[str, Any], cmd: Any) -> None:
                q_policy = cmd.q[bridge.policy_from_sdk]
                last_action = (q_policy - bundle.default_joint_pos) / bundle.action_scale
                groups = sim.observation(command, last_action)
                tick = int(round(state["time"] * 1000.0))
                env_obs[tick] = np.concatenate([groups[g] for g in bundle.manifest["observation"]["groups"]])
            if check:
                bridge.on_publish = on_publish

        result = run_sim_session(bundle, sim, WALK_AT + seconds + 0.5, command, f"stand@{STAND_AT},walk@{WALK_AT}",
                                 record=check, on_bridge=watch)
        env.close()
        if result.policy_start() is None:
            raise SystemExit(f"episode {episode}: the runner never reached the policy state:\n{result.output}")
        errors.append(result.tracking_error(command))
        falls += int(result.fell(bundle.max_tilt))
        periods.extend(result.report.get("periods_s", []))
        if check:
            term_diffs = compare_observations(bundle, result.report.get("observations", []), env_obs)
        fell = "FELL" if result.fell(bundle.max_tilt) else "ok"
        print(f"  dds episode {episode + 1}/{episodes}: tracking {errors[-1]:.3f} m/s, {fell}, "
              f"runner p99 {result.report.get('period_p99_ms', 0):.1f} ms", flush=True)
    return {"tracking_error": float(np.mean(errors)), "falls": falls, "episodes": episodes,
            "loop_period_p99_ms": float(np.percentile(periods, 99) * 1000.0) if periods else float("nan"),
            "term_max_abs_diff": term_diffs, "wall_s": time.perf_counter() - wall}


def compare_observations(bundle: Any, recorded: List[Dict[str, Any]],
                         env_obs: Dict[int, np.ndarray]) -> Dict[str, float]:
    """Largest |runner - env| per term over the policy steps whose state tick the bridge saw."""
    slices = bundle.term_slices
    worst = {t: 0.0 for t in bundle.terms}
    matched = 0
    for row in recorded:
        ref = env_obs.get(int(row["tick"]))
        if ref is None:
            continue
        matched += 1
        for term, where in slices.items():
            diff = np.abs(np.asarray(row["terms"][term]) - ref[where]).max()
            worst[term] = max(worst[term], float(diff))
    worst["matched_steps"] = matched
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--command", default="0.5,0,0")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    bundle = load_bundle(args.bundle)
    command = [float(v) for v in args.command.split(",")]
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical); bundle {args.bundle}; {args.episodes} episodes x "
          f"{args.seconds:g} s at {command}", flush=True)
    direct = run_direct(bundle, args.episodes, args.seconds, command)
    print(f"direct: tracking {direct['tracking_error']:.3f} m/s, falls {direct['falls']}/{args.episodes}", flush=True)
    dds = run_dds(bundle, args.episodes, args.seconds, command)
    diffs = {k: v for k, v in dds["term_max_abs_diff"].items() if k != "matched_steps"}
    obs_diff = max(diffs.values()) if diffs else float("nan")
    period_ms = bundle.control_dt * 1000.0
    rows = [
        ("tracking error [m/s]", f"{direct['tracking_error']:.3f}", f"{dds['tracking_error']:.3f}",
         "dds within 0.03 of direct"),
        ("falls", f"{direct['falls']}/{args.episodes}", f"{dds['falls']}/{args.episodes}", "none direct lacks"),
        ("control loop p99 [ms]", "-", f"{dds['loop_period_p99_ms']:.2f}", f"<= {1.2 * period_ms:.1f}"),
        ("obs max |diff|", "-", f"{obs_diff:.2e}", "<= 1e-5"),
    ]
    print(f"\n{'':24} {'direct':>10} {'dds':>10}   target")
    for name, a, b, target in rows:
        print(f"{name:24} {a:>10} {b:>10}   {target}")
    print("obs max |diff| per term: " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()) +
          f" ({dds['term_max_abs_diff'].get('matched_steps', 0)} policy steps matched by tick)")
    print(json.dumps({
        "benchmark": "deploy_sim2sim", "cpu": cpu_model(), "episodes": args.episodes, "seconds": args.seconds,
        "command": command, "control_period_ms": period_ms,
        "tracking_error_direct": direct["tracking_error"], "tracking_error_dds": dds["tracking_error"],
        "falls_direct": direct["falls"], "falls_dds": dds["falls"], "loop_period_p99_ms": dds["loop_period_p99_ms"],
        "obs_max_abs_diff": obs_diff, "obs_term_max_abs_diff": dds["term_max_abs_diff"],
        "wall_s_direct": direct["wall_s"], "wall_s_dds": dds["wall_s"], "fall_height_m": FALL_HEIGHT_M,
    }))


if __name__ == "__main__":
    main()
