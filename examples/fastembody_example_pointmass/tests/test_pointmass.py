"""The example plugin as a third party would test it: env contract, discovery, and a real `fastembody run`."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fastembody_core import ConfigError, EnvError, RunContext, get_registry
from fastembody_core.testing import check_vector_env, learning_precision, learning_seed
from fastembody_example_pointmass.config import PointMassParams
from fastembody_example_pointmass.env import PointMassEnv

CONFIG = Path(__file__).resolve().parents[1] / "fastembody_example_pointmass" / "pointmass_ppo.yaml"


def test_env_keeps_the_vector_env_contract():
    check_vector_env(PointMassEnv(PointMassParams(num_envs=8, episode_length=20), RunContext(seed=1)))


def test_env_contract():
    env = PointMassEnv(PointMassParams(num_envs=8, episode_length=5), RunContext(seed=1))
    obs = env.reset()
    assert obs["policy"].shape == (8, 4) and env.spec().observation_shapes == {"policy": (4,)}
    for step in range(5):
        obs, rew, dones, extras = env.step(torch.zeros(8, 2))
        assert rew.shape == (8,) and dones.dtype == torch.bool
    assert dones.all() and extras["time_outs"].all() and "return" in extras["episode"]
    assert (env.episode_length_buf == 0).all()  # auto-reset inside step
    with pytest.raises(EnvError, match="NaN"):
        env.step(torch.full((8, 2), float("nan")))


def test_privileged_critic_group_and_terminations_keep_the_contract():
    params = PointMassParams(num_envs=8, episode_length=200, max_distance=0.5, privileged=True)
    env = PointMassEnv(params, RunContext(seed=1))
    check_vector_env(env)
    obs = env.reset()
    assert env.spec().observation_shapes == {"policy": (4,), "critic": (6,)}
    assert torch.equal(obs["critic"][:, :4], obs["policy"]) and torch.equal(obs["critic"][:, 4:], obs["policy"][:, :2] ** 2)
    terminated = torch.zeros(8, dtype=torch.bool)
    for _ in range(30):  # pushed away from the origin, every mass passes 0.5 m long before the time limit
        obs, _, dones, extras = env.step(torch.sign(obs["policy"][:, :2]) * 1.0)
        assert not extras["time_outs"].any()
        terminated |= dones
    assert terminated.all()
    with pytest.raises(ConfigError, match="must be > 0"):
        PointMassParams(max_distance=0.0)


def test_state_dict_round_trip():
    a = PointMassEnv(PointMassParams(num_envs=4), RunContext(seed=2))
    a.step(torch.ones(4, 2))
    b = PointMassEnv(PointMassParams(num_envs=4), RunContext(seed=9))
    b.load_state_dict(a.state_dict())
    for _ in range(120):  # crosses an episode boundary, so the generator state matters too
        oa, ra, _, _ = a.step(torch.ones(4, 2))
        ob, rb, _, _ = b.step(torch.ones(4, 2))
    assert torch.equal(oa["policy"], ob["policy"]) and torch.equal(ra, rb)


def test_discovered_through_entry_point():
    reg = get_registry().get("envs", "example-pointmass")
    assert reg.plugin == "fastembody-example-pointmass"


@pytest.mark.learning
def test_fastembody_run_trains_it(tmp_path):
    """The shipped config, as a user runs it, learns: per-step reward about -1.0 -> -0.2 for every seed tried."""
    run_dir = tmp_path / "run"
    out = subprocess.run(
        [sys.executable, "-m", "fastembody_core", "run", str(CONFIG), "--run-dir", str(run_dir),
         "--set", "trainer.params.progress=false", "--set", f"seed={learning_seed(0)}",
         "--set", f"algorithm.params.precision={learning_precision('fp32')}"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert (run_dir / "config.resolved.yaml").is_file()
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 40 and "iteration" in rows[-1]
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("model_*.pt")) == ["model_20.pt", "model_40.pt"]
    per_step = [r["Train/mean_reward"] / r["Train/mean_episode_length"] for r in rows if "Train/mean_reward" in r]
    first, last = sum(per_step[:3]) / 3, sum(per_step[-3:]) / 3
    # seeds 0-9, fp32 and bf16: first -0.8 .. -1.4, last -0.17 .. -0.28
    assert last > first + 0.4 and last > -0.4, f"did not learn: per-step reward {first:.3f} -> {last:.3f}"
