"""``fastembody play`` with go2-mujoco: a go2-toy run's policy (checkpoint or ONNX) in MuJoCo, with a video."""
import json
import os
import subprocess
import sys

import mujoco  # noqa: F401  (the mujoco extra is installed by scripts/setup.sh: missing, this fails, never skips)
import pytest

from fastembody_core.checkpoint import checkpoint_path, save_checkpoint
from fastembody_core.config import experiment_from_dict, write_resolved
from fastembody_core.export import export_run
from fastembody_core.pipeline import build_env_and_algorithm, make_context
from fastembody_core.evaluation import map_params
from fastembody_core.play import play_run
from fastembody_go2.mujoco.config import Go2MujocoParams

TOY_RUN = {
    "name": "toy_for_play",
    "seed": 2,
    "env": {"name": "go2-toy", "params": {"num_envs": 4, "compile": False, "noise_level": 0.0,
                                          "physics": {"ground_stiffness": 9000.0}}},
    "algorithm": {"name": "ppo", "params": {"actor_hidden_dims": [32], "critic_hidden_dims": [32],
                                            "obs_normalization": True, "init_noise_std": 0.5}},
    "trainer": {"name": "on-policy", "params": {"max_iterations": 1, "progress": False, "tensorboard": False}},
}


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """A go2-toy run directory with an (untrained) PPO checkpoint, written through the real pipeline."""
    run_dir = tmp_path_factory.mktemp("play") / "run"
    experiment = experiment_from_dict(TOY_RUN)
    write_resolved(experiment, run_dir)
    ctx = make_context(experiment)
    env, algorithm = build_env_and_algorithm(experiment, ctx)
    env.close()
    save_checkpoint(checkpoint_path(run_dir, 1), {"iteration": 1, "algorithm": "ppo",
                                                   "algorithm_state": algorithm.state_dict(),
                                                   "config": experiment.to_dict()})
    return run_dir


def test_toy_params_carry_over_to_go2_mujoco():
    kept, dropped = map_params(TOY_RUN["env"]["params"], Go2MujocoParams)
    assert kept == {"num_envs": 4, "compile": False, "noise_level": 0.0, "physics": {}}
    assert dropped == ["physics.ground_stiffness"]


def test_play_a_toy_checkpoint_and_its_onnx_export_in_mujoco(toy_run):
    result = play_run(toy_run, env_name="go2-mujoco", command=(0.5, 0.0, 0.0), seconds=0.4)
    assert result["env"] == "go2-mujoco" and result["policy"].endswith("model_1.pt")
    assert result["steps"] == 20 and result["command"] == "0.5,0,0"
    assert "physics.ground_stiffness" in result["params_not_carried_over"]
    assert 0.0 <= result["mean_speed"] < 2.0 and result["mean_tracking_error"] > 0.0
    onnx = export_run(toy_run, fmt="onnx")
    from_onnx = play_run(toy_run, env_name="go2-mujoco", onnx=onnx, command=(0.5, 0.0, 0.0), seconds=0.4)
    assert from_onnx["policy"] == str(onnx)
    for key in ("mean_speed", "mean_tracking_error", "falls"):  # same policy, same seed: the same playback
        assert from_onnx[key] == pytest.approx(result[key], abs=1e-3)


def play_cli(run_dir, video, gl):
    env = dict(os.environ, MUJOCO_GL=gl)
    cmd = [sys.executable, "-m", "fastembody_core", "play", str(run_dir), "--env", "go2-mujoco", "--seconds", "0.3",
           "--command", "0.4,0,0", "--video", str(video)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def test_play_records_an_mp4_and_a_contact_sheet(toy_run, tmp_path):
    out = play_cli(toy_run, tmp_path / "walk.mp4", "egl")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "walk.mp4").stat().st_size > 2000
    assert (tmp_path / "walk_sheet.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((tmp_path / "walk.mp4.json").read_text())
    assert metrics["steps"] == 15 and "video_error" not in metrics


def test_unavailable_render_backend_still_writes_metrics(toy_run, tmp_path):
    out = play_cli(toy_run, tmp_path / "walk.mp4", "no-such-backend")
    assert out.returncode == 0, out.stderr
    assert "MUJOCO_GL=egl" in out.stderr and "MUJOCO_GL=osmesa" in out.stderr
    assert not (tmp_path / "walk.mp4").exists()
    metrics = json.loads((tmp_path / "walk.mp4.json").read_text())
    assert metrics["steps"] == 15 and "MUJOCO_GL=no-such-backend" in metrics["video_error"]
