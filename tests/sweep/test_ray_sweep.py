"""The cluster engine: the same sweep file on Ray Tune (a local Ray with 2 CPUs here)."""
import json

import pytest
from click.testing import CliRunner

from fastembody_core.cli import cli
from fastembody_core.sweep import run_sweep

pytest.importorskip("ray.tune")
pytest.importorskip("optuna")


def test_local_ray_runs_two_trials_concurrently(write_sweep, tmp_path):
    path = write_sweep(trials=2, workers=2, engine="ray",
                       set=["algorithm.params.schedule=fixed", "env.params.num_envs=64",
                            "trainer.params.num_steps_per_env=8", "trainer.params.max_iterations=10",
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
