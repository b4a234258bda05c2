"""Data-parallel training on CPU with gloo: shard equivalence, a learning 2-process run with resume, crash exit.

Runs use gloo on CPU; each spawns torchrun workers.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fastembody_core.testing import learning_precision, learning_seed
from fastembody_core.distributed import all_reduce_mean, backend_for, broadcast, is_distributed, torchrun_command

HERE = Path(__file__).resolve().parent
WORKER = HERE / "distributed_ppo_worker.py"
POINTMASS = HERE.parents[1] / "examples" / "fastembody_example_pointmass" / "fastembody_example_pointmass" / "pointmass_ppo.yaml"
LOCK: list = []  # tests never take the benchmark lock (a suite run under it would wait forever)
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]


def _run(cmd, timeout=120, env=None):
    full_env = dict(os.environ, **(env or {}))
    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        full_env.pop(var, None)
    return subprocess.run(LOCK + cmd, capture_output=True, text=True, timeout=timeout, env=full_env)


def test_single_process_helpers_are_no_ops():
    t = torch.tensor([2.0])
    assert not is_distributed() and all_reduce_mean(t) is t and broadcast(t) is t and float(t) == 2.0
    assert backend_for("cuda:1") == "nccl" and backend_for("cpu") == "gloo"
    cmd = torchrun_command(2, ["run", "c.yaml"])
    assert cmd[1:3] == ["-m", "torch.distributed.run"] and "--nproc_per_node=2" in cmd and "--standalone" in cmd
    assert cmd[-4:] == ["-m", "fastembody_core", "run", "c.yaml"]


def test_two_ranks_over_half_the_envs_match_one_process_over_all(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    out = _run([sys.executable, str(WORKER), str(one)])
    assert out.returncode == 0, out.stderr[-2000:]
    out = _run(TORCHRUN + [str(WORKER), str(two)])
    assert out.returncode == 0, out.stderr[-2000:]
    ref = torch.load(one / "rank0.pt")
    ranks = [torch.load(two / f"rank{r}.pt") for r in (0, 1)]
    assert ref["lr"] != 1e-3  # the adaptive schedule moved (the KL is rank-averaged)
    assert ref["actor"]["model.normalizer.count"] == 2 * 6 * 8  # 2 iterations x 6 steps x 8 envs
    for got in ranks:
        assert got["lr"] == pytest.approx(ref["lr"], rel=1e-9)
        assert got["kl"] == pytest.approx(ref["kl"], rel=1e-4, abs=1e-9)
        for module in ("actor", "critic"):
            for key, value in ref[module].items():
                torch.testing.assert_close(got[module][key], value, rtol=1e-5, atol=1e-6, msg=f"{module}.{key}")
    for module in ("actor", "critic"):  # the replicas are identical to each other, bit for bit
        for key, value in ranks[0][module].items():
            assert torch.equal(ranks[1][module][key], value), f"{module}.{key} differs between ranks"


def test_crashed_rank_fails_the_job_and_is_named(tmp_path):
    out = _run(TORCHRUN + [str(WORKER), str(tmp_path)], timeout=90, env={"CRASH_RANK": "1"})
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "deliberate failure on rank 1" in text
    assert "rank" in text and "1 (local_rank: 1)" in text  # torchrun's failure summary names the rank


def _returns(run_dir: Path):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    # per-step reward of the completed episodes (episode lengths vary at the start: random initial timers)
    return rows, [r["Train/mean_reward"] / r["Train/mean_episode_length"] for r in rows if "Train/mean_reward" in r]


@pytest.mark.learning
def test_two_process_run_writes_once_and_resumes(tmp_path):
    # the example's own config (256 envs in all: 128 per rank, 40 iterations), which learns from any seed
    run_dir = tmp_path / "run"
    base = [sys.executable, "-m", "fastembody_core", "run", str(POINTMASS), "--nproc", "2", "--run-dir", str(run_dir),
            "--set", "trainer.params.progress=false", "--set", "env.params.num_envs=128",
            "--set", "trainer.params.init_at_random_ep_len=false", "--set", f"seed={learning_seed(0)}",
            "--set", f"algorithm.params.precision={learning_precision('fp32')}"]
    out = _run(base + ["--set", "trainer.params.max_iterations=40", "--set", "trainer.params.save_interval=40"], timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    rows, returns = _returns(run_dir)
    assert len(rows) == 40  # only rank 0 logs
    first, last = sum(returns[:3]) / 3, sum(returns[-3:]) / 3
    assert last > first + 0.4 and last > -0.4, f"2-process run did not learn: per-step reward {first:.3f} -> {last:.3f}"
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("model_*.pt")) == ["model_40.pt"]
    out = _run(base + ["--resume", "--set", "trainer.params.max_iterations=42", "--set", "trainer.params.save_interval=42"],
               timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    rows, _ = _returns(run_dir)
    assert [r["iteration"] for r in rows[-2:]] == [41, 42] and len(rows) == 42


def test_exit_worker_flushes_and_exits_with_the_code():
    code = "import sys; from fastembody_core.distributed import exit_worker; print('done', end=''); exit_worker(3)"
    out = _run([sys.executable, "-c", code], timeout=60)
    assert out.returncode == 3 and out.stdout == "done"
