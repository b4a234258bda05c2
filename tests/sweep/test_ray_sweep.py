"""The cluster engine: the same sweep file on Ray Tune (a local Ray with 2 CPUs here)."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastembody_core.cli import cli
from fastembody_core.run_logging import read_metrics
from fastembody_core.sweep import run_sweep

pytest.importorskip("ray.tune")
pytest.importorskip("optuna")
LR = "algorithm.params.learning_rate"


def test_local_ray_runs_two_trials_concurrently(write_sweep, tmp_path):
    # 100 iterations (~5 s a trial, two at once on 2 cores): the two Ray workers may begin their trials seconds apart
    # on a loaded machine (a fresh-clone run saw 1.4 s), and 10 iterations (~1 s) then ended before the other began.
    path = write_sweep(trials=2, workers=2, engine="ray",
                       set=["algorithm.params.schedule=fixed", "env.params.num_envs=64",
                            "trainer.params.num_steps_per_env=8", "trainer.params.max_iterations=100",
                            "trainer.params.save_interval=0"])
    lines = run_sweep(path)  # ray.init(num_cpus=2): workers x trial_cpus
    trials = sorted((tmp_path / "sweeps" / "sw" / "trials").glob("*/trial.json"))
    outcomes = [json.loads(p.read_text()) for p in trials]
    assert [o["state"] for o in outcomes] == ["complete", "complete"], lines
    assert all(str(o["number"]).startswith("r") and o["value"] is not None for o in outcomes)
    first, second = sorted(outcomes, key=lambda o: o["started"])
    assert second["started"] < first["ended"], "the two trials did not overlap"
    for o in outcomes:
        assert (tmp_path / o["run_dirs"][0] / "metrics.jsonl").is_file()
    assert (tmp_path / "sweeps" / "sw" / "best.yaml").is_file() and "best: trial r" in "\n".join(lines)


def test_an_unreachable_ray_address_is_one_line(write_sweep):
    result = CliRunner().invoke(cli, ["sweep", str(write_sweep()), "--engine", "ray", "--address", "127.0.0.1:1"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: cannot reach a Ray cluster at 127.0.0.1:1 (Connection refused); start one there with `ray start "
        "--head`, or leave out --address to run a local Ray"]


def _outcomes(trials):
    return {p.parent.name: json.loads(p.read_text()) for p in trials.glob("*/trial.json")}


def test_a_killed_ray_sweep_resumes_without_rerunning_finished_trials(write_sweep, tmp_path):
    """Killed once a trial has finished and another is training; a trial of an earlier kill (trial.json still
    ``running``, no process holding it) is planted too. The restart keeps the finished trials, waits for any a
    leftover Ray worker still finishes, and runs the interrupted trial's params again."""
    # At the kill 1-2 trials have finished and up to 2 run on in the leftover Ray workers (the restart waits for them
    # and counts them): 6 trials leave room for the planted interrupted trial, which runs first (the oldest).
    path = write_sweep(trials=6, workers=2, engine="ray",
                       set=["algorithm.params.schedule=fixed", "env.params.num_envs=64",
                            "trainer.params.num_steps_per_env=8", "trainer.params.max_iterations=12",
                            "trainer.params.save_interval=0"])
    trials = tmp_path / "sweeps" / "sw" / "trials"
    proc = subprocess.Popen([sys.executable, "-m", "fastembody_core", "sweep", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.time() + 300
        while True:
            outcomes = _outcomes(trials)
            done = [n for n, o in outcomes.items() if o["state"] == "complete"]
            training = [n for n, o in outcomes.items() if o["state"] == "running"
                        and (trials / n / "seed0" / "metrics.jsonl").is_file()]
            if done and training:
                break
            assert proc.poll() is None and time.time() < deadline, proc.stderr.read().decode()[-2000:]
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finished = {n: o for n, o in _outcomes(trials).items() if o["state"] == "complete"}
    before = {n: (trials / n / "seed0" / "metrics.jsonl").stat().st_mtime_ns for n in finished}
    planted = {"number": "rdead0001", "params": {LR: 1e-3}, "state": "running", "started": time.time() - 60}
    (trials / "rdead0001").mkdir()
    (trials / "rdead0001" / "trial.json").write_text(json.dumps(planted))

    lines = run_sweep(path)
    after = _outcomes(trials)
    assert {n: (trials / n / "seed0" / "metrics.jsonl").stat().st_mtime_ns for n in finished} == before
    assert all(after[n] == finished[n] for n in finished)  # finished trials were neither re-run nor rewritten
    with open(tmp_path / "sweeps" / "sw" / "results.csv", newline="") as f:
        rows = {r["trial"]: r for r in csv.DictReader(f)}
    assert rows["rdead0001"]["state"] == "interrupted" and "interrupted" in after["rdead0001"]["note"]
    complete = [n for n, r in rows.items() if r["state"] == "complete"]
    # 6 finished, none run twice. One more may finish: a trial the killed driver had already dispatched can still
    # start on a leftover Ray worker after the restart listed the trials (it finishes and is kept: nothing is lost).
    assert len(complete) in (6, 7), lines
    assert len({after[n]["params"][LR] for n in complete}) == len(complete) and \
        {LR: 1e-3} in [after[n]["params"] for n in complete]  # the interrupted trial's params ran again
    assert [r["state"] for r in rows.values()].count("interrupted") + len(complete) == len(rows)
    assert all(len(read_metrics(trials / n / "seed0" / "metrics.jsonl")) == 12 for n in complete)
    assert "all 6 trials have finished" in CliRunner().invoke(cli, ["sweep", str(path)]).output


@pytest.fixture
def ray_of_two_cpus():
    """A local Ray of 2 CPUs the sweep joins (run_sweep leaves a Ray it did not start running)."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=100 * 1024 ** 2)
    yield
    ray.shutdown()


def test_nproc_trials_are_torchrun_jobs_one_at_a_time(write_sweep, tmp_path, ray_of_two_cpus):
    """nproc: 2 on 2 CPUs: each trial reserves both, so the two trials run one after the other, each a 2-process
    torchrun job (env_steps count both ranks' envs), with ASHA still fed every iteration."""
    path = write_sweep(trials=2, workers=2, engine="ray", nproc=2,
                       pruning={"type": "successive-halving", "warmup_iterations": 4})
    lines = run_sweep(path)
    trials = tmp_path / "sweeps" / "sw" / "trials"
    outcomes = sorted(_outcomes(trials).values(), key=lambda o: o["started"])
    assert [o["state"] for o in outcomes] == ["complete", "complete"], lines
    assert outcomes[1]["started"] >= outcomes[0]["ended"], "two 2-CPU trials overlapped on 2 CPUs"
    for o in outcomes:
        run_dir = tmp_path / o["run_dirs"][0]
        records = read_metrics(run_dir / "metrics.jsonl")
        assert len(records) == 4 and records[-1]["env_steps"] == 2 * 64 * 8 * 4  # world size 2
        assert (run_dir / "checkpoints").is_dir() and "torch.distributed.run" not in str(o["note"])
        assert o["value"] == records[-1]["Train/mean_reward"]
    with open(tmp_path / "sweeps" / "sw" / "results.csv", newline="") as f:
        assert sorted(r["trial"] for r in csv.DictReader(f)) == sorted(o["number"] for o in outcomes)


def test_nproc_larger_than_any_node_is_one_line(write_sweep, ray_of_two_cpus):
    result = CliRunner().invoke(cli, ["sweep", str(write_sweep(nproc=4)), "--engine", "ray"])
    assert result.exit_code == 1 and result.output.strip().splitlines() == [
        "Error: each trial needs 4 CPUs on one node (nproc: 4 x trial_cpus: 1) but the largest node of this Ray "
        "cluster has 2; lower nproc or trial_cpus, or add a larger node"], result.output


def test_asha_stops_a_torchrun_trial_which_saves_and_is_pruned(write_sweep, tmp_path, ray_of_two_cpus):
    """The second config (a learning rate that learns nothing) trails the first at ASHA's first rung: its job gets
    SIGTERM, its ranks save a checkpoint and exit, and its trial.json says pruned, as an in-process trial's would."""
    path = write_sweep(trials=2, workers=1, engine="ray", nproc=2,
                       set=["algorithm.params.schedule=fixed", "env.params.num_envs=64",
                            "trainer.params.num_steps_per_env=8", "trainer.params.max_iterations=16",
                            "trainer.params.save_interval=0"],
                       space={LR: {"type": "float", "low": 1e-6, "high": 1e-2, "log": True}},
                       initial=[{LR: 1e-2}, {LR: 1e-6}],
                       pruning={"type": "successive-halving", "warmup_iterations": 3, "reduction_factor": 2})
    lines = run_sweep(path)
    trials = tmp_path / "sweeps" / "sw" / "trials"
    first, second = sorted(_outcomes(trials).values(), key=lambda o: o["started"])
    assert (first["state"], second["state"]) == ("complete", "pruned"), lines
    assert "stopped by ASHA at step 3" in second["note"] and second["value"] is not None
    # The trial is reported as soon as its job has SIGTERM; the job finishes its iteration (one more metrics record),
    # saves and exits on its own, in the background: its files are read once it has exited.
    deadline = time.time() + 10
    while _processes_naming(second["run_dirs"][0]) and time.time() < deadline:
        time.sleep(0.2)
    assert not _processes_naming(second["run_dirs"][0]), "the stopped trial's torchrun job is still running"
    records = read_metrics(tmp_path / second["run_dirs"][0] / "metrics.jsonl")
    assert 3 <= len(records) < 16 and records[-1]["env_steps"] == 2 * 64 * 8 * len(records)
    saved = list((tmp_path / second["run_dirs"][0] / "checkpoints").glob("*.pt"))
    assert [p.name for p in saved] == [f"model_{len(records)}.pt"]


def _processes_naming(text):
    """Pids whose command line contains ``text``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().decode(errors="replace"):
                found.append(cmdline.parent.name)
        except OSError:
            continue
    return found
