"""The sweep file: every bad key is one line naming the file and key, before anything runs; torch- and optuna-free."""
import subprocess
import sys

import pytest
from click.testing import CliRunner

from fastembody_core import ConfigError, PluginError
from fastembody_core.cli import cli
from fastembody_core.sweep import load_sweep
from fastembody_core.sweep.spec import ParamSpec


def test_a_valid_sweep_resolves_base_set_and_space(write_sweep):
    sweep = load_sweep(write_sweep(space={"algorithm.params.learning_rate": {"type": "float", "low": 1e-4,
                                                                             "high": 1e-2, "log": True},
                                          "env.params.num_envs": [32, 64]}))
    assert sweep.space["env.params.num_envs"] == ParamSpec("categorical", choices=[32, 64])
    assert sweep.base["algorithm"]["params"]["schedule"] == "fixed" and sweep.file.direction == "maximize"
    assert sweep.dir.name == "sw" and sweep.watch_metric == "Train/mean_reward"


@pytest.mark.parametrize("space, match", [
    ({"algorithm.params.learnin_rate": {"type": "float", "low": 1e-4, "high": 1e-2}},
     r"sw.yaml: space.algorithm.params.learnin_rate: unknown key; did you mean 'algorithm.params.learning_rate'\?"),
    ({"algorithm.parms.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2}},
     r"sw.yaml: space.algorithm.parms: unknown key; did you mean 'algorithm.params'\?"),
    ({"algorithm.params.learning_rate": {"type": "float", "low": 1e-2, "high": 1e-4}},
     r"sw.yaml: space.algorithm.params.learning_rate.high: empty range: low 0.01 must be below high 0.0001"),
    ({"algorithm.params.learning_rate": {"type": "loguniform", "low": 1e-4, "high": 1e-2}},
     r"space.algorithm.params.learning_rate.type: unknown distribution 'loguniform'; use float \(log: true"),
    ({"algorithm.params.learning_rate": {"type": "flaot", "low": 1e-4, "high": 1e-2}},
     r"unknown distribution 'flaot'; did you mean 'float'\?"),
    ({"algorithm.params.learning_rate": {"type": "float", "low": 0.0, "high": 1e-2, "log": True}},
     r"learning_rate.low: a log range needs low > 0"),
    ({"algorithm.params.learning_rate": {"type": "float", "low": 1e-4}}, r"learning_rate.high: a float dimension "
                                                                          r"needs low and high"),
    ({"env.params.num_envs": {"type": "categorical", "choices": []}}, r"num_envs.choices: a categorical dimension "
                                                                      r"needs a non-empty list"),
    ({"env.params.num_envs": {"type": "int", "low": 0, "high": 8}}, r"sw.yaml: space.env.params.num_envs: "
                                                                    r"must be >= 1, got 0"),
    ({"algorithm.params.learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "lo": 1}},
     r"learning_rate.lo: unknown key; did you mean 'space.algorithm.params.learning_rate.low'\?"),
    ({"seed": [1, 2]}, r"space.seed: the seed is not searched: set seeds: N"),
    ({"env.params.num_envs": {"type": "int", "low": 8, "high": 16.5}}, r"an int dimension needs whole numbers"),
])
def test_bad_search_space_is_one_named_line(write_sweep, space, match):
    with pytest.raises((ConfigError, PluginError), match=match):
        load_sweep(write_sweep(space=space))


@pytest.mark.parametrize("fields, match", [
    ({"trails": 4}, r"sw.yaml: trails: unknown key; did you mean 'trials'\?"),
    ({"direction": "max"}, r"direction: expected one of \['maximize', 'minimize'\]"),
    ({"trials": 0}, r"trials: must be >= 1"),
    ({"pruning": {"type": "medain"}}, r"pruning.type: unknown pruning 'medain'; did you mean 'median'\?"),
    ({"set": ["algorithm.params.learning_rate"]}, r"sw.yaml: set\[0\]: --set 'algorithm.params.learning_rate': "
                                                  r"expected KEY=VALUE"),
    ({"initial": [{"algorithm.params.learning_rate": 1.0}]}, r"initial\[0\].algorithm.params.learning_rate: 1.0 is "
                                                             r"outside space"),
    ({"initial": [{"algorithm.params.lr": 1e-3}]}, r"initial\[0\].algorithm.params.lr: not a space key"),
    ({"metric": "eval/mean_return", "pruning": {"type": "median"}}, r"pruning.metric: eval/mean_return is measured "
                                                                    r"after training"),
    ({"base": "missing.yaml"}, r"missing.yaml: file not found"),
    ({"name": "../up"}, r"name: must be a plain folder name"),
    ({"window": 0}, r"sw.yaml: window: must be >= 1, got 0"),
    ({"pruning": {"type": "successive-halving", "window": 0}}, r"sw.yaml: pruning.window: must be >= 1 \(1: each "
                                                                r"iteration's own value\), got 0"),
    ({"pruning": {"type": "successive-halving", "window": 2.5}}, r"sw.yaml: pruning.window: "),
    ({"pruning": {"type": "median", "warmup_iterations": -1}}, r"sw.yaml: pruning.warmup_iterations: must be >= 0"),
    ({"pruning": {"type": "successive-halving", "reduction_factor": 1}}, r"pruning.reduction_factor: must be >= 2"),
    ({"pruning": {"type": "successive-halving", "windw": 3}}, r"pruning.windw: unknown key; did you mean "),
    ({"metric": "eval/mean_return", "window": 3}, r"sw.yaml: window: eval/mean_return is measured once, after "
                                                  r"training; window averages a per-iteration metric"),
    ({"nprocs": 2}, r"sw.yaml: nprocs: unknown key; did you mean 'nproc'\?"),
    ({"nproc": 0, "engine": "ray"}, r"sw.yaml: nproc: must be >= 1, got 0"),
    ({"nproc": 2}, r"sw.yaml: nproc: torchrun trials of 2 processes need --engine ray \(or engine: ray\); the "
                   r"optuna engine runs each trial in one process"),
])
def test_bad_sweep_fields_are_one_named_line(write_sweep, fields, match):
    with pytest.raises(ConfigError, match=match):
        load_sweep(write_sweep(**fields))


def test_the_cli_names_a_bad_key_before_anything_runs(write_sweep, tmp_path):
    path = write_sweep(space={"algorithm.params.learnin_rate": {"type": "float", "low": 1e-4, "high": 1e-2}})
    result = CliRunner().invoke(cli, ["sweep", str(path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "did you mean 'algorithm.params.learning_rate'" in lines[0], result.output
    assert not (tmp_path / "sweeps").exists()


def test_address_is_for_ray_only(write_sweep):
    result = CliRunner().invoke(cli, ["sweep", str(write_sweep()), "--address", "10.0.0.1:6379"])
    assert result.exit_code == 1 and "--address is for --engine ray" in result.output


def test_parsing_a_sweep_imports_neither_torch_nor_optuna(write_sweep):
    code = ("import sys; from fastembody_core.sweep import load_sweep; load_sweep(sys.argv[1]); "
            "bad = [m for m in ('torch', 'optuna', 'ray') if m in sys.modules]; assert not bad, bad")
    out = subprocess.run([sys.executable, "-c", code, str(write_sweep())], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]


def test_shipped_sweep_files_validate():
    from pathlib import Path

    paths = sorted((Path(__file__).resolve().parents[2] / "configs" / "sweeps").glob("*.yaml"))
    assert paths
    for path in paths:
        assert load_sweep(path).space


def test_nproc_with_the_ray_engine_validates(write_sweep):
    assert load_sweep(write_sweep(nproc=2), engine="ray").file.nproc == 2


def test_pruning_defaults_resolve_from_the_base_config(write_sweep):
    """The first rung at a third of the run (the base config's max_iterations), the pruner sees 5-iteration means,
    a trial's value is its last iteration's (window 1); the resolved numbers are what sweep.resolved.yaml shows."""
    sweep = load_sweep(write_sweep(set=["trainer.params.max_iterations=24"],
                                   pruning={"type": "successive-halving"}))
    assert (sweep.file.pruning.warmup_iterations, sweep.file.pruning.window, sweep.file.window) == (8, 5, 1)
    assert sweep.to_dict()["pruning"]["warmup_iterations"] == 8
    short = load_sweep(write_sweep(pruning={"type": "median", "warmup_iterations": 0}))  # TINY: 4 iterations
    assert short.file.pruning.warmup_iterations == 0
    assert load_sweep(write_sweep()).file.pruning.warmup_iterations == 1  # 4 // 3
