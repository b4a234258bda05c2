"""End to end through the `fastembody` CLI: a PPO teacher, then distillation with run/--resume/eval/export,
exactly as a user runs them (the PPO teacher is found through the registry, never imported)."""
import json
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner

from fastembody_core import get_registry
from fastembody_core.cli import cli

ROOT = Path(__file__).resolve().parents[3]
POINTMASS_PPO = ROOT / "examples" / "fastembody_example_pointmass" / "fastembody_example_pointmass" / "pointmass_ppo.yaml"


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, f"fastembody {' '.join(map(str, args))}:\n{result.output}"
    return result


def test_registered_through_the_entry_point_without_torch():
    registration = get_registry().get("algorithms", "distillation")
    assert registration.plugin == "fastembody-distill" and registration.params.__name__ == "DistillationParams"
    plugin_module = sys.modules["fastembody_distill.plugin"]
    assert "torch" not in plugin_module.__dict__


def test_teacher_then_student_run_resume_eval_export(tmp_path):
    quiet = ["--set", "trainer.params.progress=false", "--set", "trainer.params.tensorboard=false"]
    short = ["--set", "trainer.params.max_iterations=5", "--set", "trainer.params.save_interval=5"]  # any teacher will do
    invoke("run", POINTMASS_PPO, "--run-dir", tmp_path / "teacher", *quiet, *short)

    config = {
        "name": "pointmass_distillation",
        "seed": 3,
        "env": {"name": "example-pointmass", "params": {"num_envs": 32}},
        "algorithm": {
            "name": "distillation",
            "params": {"teacher_checkpoint": str(tmp_path / "teacher"), "student_obs_groups": ["policy"],
                       "history_length": 3, "hidden_dims": [32, 32]},
        },
        "trainer": {"name": "on-policy", "params": {"max_iterations": 2, "num_steps_per_env": 8, "save_interval": 2}},
    }
    path = tmp_path / "distill.yaml"
    path.write_text(yaml.safe_dump(config))
    student = tmp_path / "student"
    invoke("run", path, "--run-dir", student, *quiet)
    invoke("run", path, "--run-dir", student, "--resume", "--set", "trainer.params.max_iterations=4", *quiet)
    lines = (student / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["iteration"] for x in lines] == [1, 2, 3, 4]
    assert all("Loss/behavior" in json.loads(x) for x in lines)

    result = json.loads(invoke("eval", student, "--episodes", "4", "--json").stdout)
    assert result["iteration"] == 4 and result["episodes"] == 4

    invoke("export", student, "--format", "onnx")
    sidecar = json.loads((student / "exported" / "policy.onnx.json").read_text())
    assert sidecar["algorithm"] == "distillation" and sidecar["obs_groups"] == ["policy"]
    assert sidecar["obs_dim"] == 4 and sidecar["input_names"] == ["obs", "h_in"]
    assert sidecar["state_shape"] == [1, 1, 2 * 4] and sidecar["verified_against_torch"]
