"""Distillation data-parallel under torchrun (gloo on CPU): a 2-process run learns, only rank 0 writes, resume works."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fastembody_core.testing import learning_seed


def _config(path: Path, teacher: Path, iterations: int) -> Path:
    config = {
        "name": "distill_pointmass", "seed": learning_seed(0), "device": "cpu",
        "env": {"name": "example-pointmass", "params": {"num_envs": 32}},
        "algorithm": {"name": "distillation", "params": {
            "teacher_checkpoint": str(teacher), "student_obs_groups": ["policy"], "hidden_dims": [32, 32],
            "history_length": 2, "learning_rate": 3e-3}},
        "trainer": {"name": "on-policy", "params": {
            "max_iterations": iterations, "num_steps_per_env": 16, "save_interval": iterations, "progress": False,
            "tensorboard": False, "init_at_random_ep_len": False}},
    }
    path.write_text(yaml.safe_dump(config))
    return path


def _run(config: Path, run_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    cmd = [sys.executable, "-m", "fastembody_core", "run", str(config), "--nproc", "2", "--run-dir", str(run_dir)]
    return subprocess.run(cmd + list(extra), capture_output=True, text=True, timeout=240, env=env)


def _rows(run_dir: Path):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.learning
def test_two_process_distillation_learns_writes_once_and_resumes(tmp_path, pd_teacher):
    run_dir = tmp_path / "run"
    out = _run(_config(tmp_path / "distill.yaml", pd_teacher, 12), run_dir)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = _rows(run_dir)
    assert [r["iteration"] for r in rows] == list(range(1, 13))  # rank 0 alone logs
    losses = [r["Loss/behavior"] for r in rows]
    assert losses[-1] < 0.25 * losses[0], losses
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("model_*.pt")) == ["model_12.pt"]

    out = _run(_config(tmp_path / "distill.yaml", pd_teacher, 14), run_dir, "--resume")
    assert out.returncode == 0, out.stderr[-3000:]
    rows = _rows(run_dir)
    assert [r["iteration"] for r in rows[-2:]] == [13, 14] and len(rows) == 14
