"""Fault injection, bad values: every user-typeable bad input is refused with exactly one line naming the file, key or
option and what to do, a non-zero exit and no traceback (issue 13; the run-dir faults are in test_run_dir_safety.py).

Each class is tested at its mechanism (the core's coercion, the strict YAML reader, the CLI's option checks), with
go2-toy's and PPO's params as the plugins a user meets first.
"""
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastembody_core.cli import cli

ROOT = Path(__file__).resolve().parents[2]
GO2 = ROOT / "configs" / "go2_toy_quick.yaml"
POINTMASS = ROOT / "examples" / "fastembody_example_pointmass" / "fastembody_example_pointmass" / "pointmass_ppo.yaml"


def one_line_error(*args: str, code: int = 2) -> str:
    """Run the CLI; assert one stderr line, the exit code and no traceback; return the line."""
    result = CliRunner().invoke(cli, list(args))
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("Warning: plugin ")]
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr[-2000:]
    assert "Traceback" not in result.output and len(lines[0]) < 1600
    return lines[0]


BAD_SETS = [
    # non-finite numbers wherever a float is parsed: plain floats and [min, max] ranges of every plugin
    (GO2, "env.params.commands.lin_vel_x=[.nan, 1]", "env.params.commands.lin_vel_x[0]: expected a finite number"),
    (GO2, "env.params.randomization.friction_range=[.nan, 1]", "friction_range[0]: expected a finite number"),
    (GO2, "env.params.randomization.motor_strength_range=[1, .inf]", "motor_strength_range[1]: expected a finite"),
    (GO2, "env.params.randomization.init_joint_pos_scale=[-.inf, 1]", "init_joint_pos_scale[0]: expected a finite"),
    (GO2, "env.params.episode_length_s=.nan", "env.params.episode_length_s: expected a finite number, got nan"),
    (POINTMASS, "algorithm.params.learning_rate=1e999", "learning_rate: expected a finite number, got '1e999'"),
    (POINTMASS, "run.preview_seconds=.inf", "run.preview_seconds: expected a finite number"),
    # integer bounds
    (POINTMASS, "seed=99999999999999999999999", "seed: 99999999999999999999999 is out of range"),
    (POINTMASS, "seed=-99999999999999999999999", "seed: -99999999999999999999999 is out of range"),
    (POINTMASS, "env.params.num_envs=1.0e+300", "0 is out of range: integers must fit in 64 bits"),
    # names become folders: they must stay one plain path component
    (POINTMASS, "name=../../escaped", "name: must be a plain folder name"),
    (POINTMASS, "name=", "name: must be a plain folder name"),
    (POINTMASS, "name=/etc", "name: must be a plain folder name"),
    (POINTMASS, "name=.hidden", "name: must be a plain folder name"),
    # YAML 1.1 surprises in --set values
    (POINTMASS, "env.params.num_envs=010", "--set env.params.num_envs: 010 looks octal (YAML 1.1 reads it as 8)"),
    (POINTMASS, "seed=1:30", "--set seed: 1:30 is a base-60 number"),
    # devices are checked when the config is read
    (POINTMASS, "device=banana", "device: unknown device 'banana'; use cpu, cuda, cuda:N, mps or auto"),
    (POINTMASS, "device=gpu:0", "device: unknown device 'gpu:0'"),
    # checks a factory makes against the env's spec name the file and the key path too
    (POINTMASS, "algorithm.params.critic_obs_groups=[privileged]",
     f"{POINTMASS}: algorithm.params.critic_obs_groups: observation group(s) ['privileged'] are not provided by the env"),
    # a quoted value is cut, never printed whole
    (POINTMASS, "name=" + "x" * 100_000, "name: must be a plain folder name"),
    (POINTMASS, "env.params.num_envs=[" + "1, " * 50_000 + "1]", "expected int, got list [1, 1, 1, 1, 1, 1, ...]"),
]


@pytest.mark.parametrize("config, setting, expected", BAD_SETS, ids=[s[:40] for _, s, _ in BAD_SETS])
def test_bad_value_is_one_line(registry, config, setting, expected):
    line = one_line_error("run", str(config), "--set", setting)
    assert expected in line, line


BAD_FILES = [
    ("dup.yaml", "name: a\nseed: 1\nseed: 2\n", "dup.yaml: cannot parse at line 3: duplicate key 'seed' (first at line 2)"),
    ("dup.json", '{"name": "a", "name": "b"}', "dup.json: cannot parse: duplicate key 'name'"),
    ("octal.yaml", "name: a\nseed: 010\n", "octal.yaml: cannot parse at line 2: 010 looks octal"),
    ("bomb.yaml", "name: x\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)),
     "bomb.yaml: expands to more than 250,000 values"),
    ("latin1.yaml", b"name: caf\xe9\n", "latin1.yaml: not UTF-8 text (byte 0xe9 at offset 9); save it as UTF-8"),
    ("python.yaml", "name: !!python/object/apply:os.system ['true']\n", "python.yaml: cannot parse at line 1"),
]


@pytest.mark.parametrize("name, content, expected", BAD_FILES, ids=[f[0] for f in BAD_FILES])
def test_bad_config_file_is_one_line(tmp_path, registry, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    line = one_line_error("run", str(path))
    assert expected in line, line


def test_yaml_merge_keys_may_still_override():
    """Strict YAML refuses duplicate keys, not the '<<' idiom of overriding a shared block."""
    from fastembody_core.config_io import load_yaml

    data = load_yaml("base: &b {lr: 1, gamma: 0.9}\nalgo:\n  <<: *b\n  lr: 3\n")
    assert data["algo"] == {"lr": 3, "gamma": 0.9}
