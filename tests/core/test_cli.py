"""The `fastembody` CLI: plugins/list output, one-line errors with non-zero exits, --debug tracebacks."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from fastembody_core import __version__, plugins
from fastembody_core.cli import cli

ROOT = Path(__file__).resolve().parents[2]


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def _dist_name(pyproject: Path) -> str:
    for line in pyproject.read_text().splitlines():
        if line.startswith("name = "):
            return line.split('"')[1]
    raise AssertionError(f"no name in {pyproject}")


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_plugins_json_lists_every_project_plugin(registry):
    result = invoke("plugins", "--json")
    assert result.exit_code == 0, result.output
    data = {p["name"]: p for p in json.loads(result.stdout)}
    assert data["fastembody-core"]["registered"] == {"trainers": ["on-policy"], "loggers": ["tensorboard"]}
    for pyproject in sorted(ROOT.glob("plugins/*/pyproject.toml")) + sorted(ROOT.glob("examples/*/pyproject.toml")):
        name = _dist_name(pyproject)
        assert name in data, f"{name} is not installed or not discovered"
        assert data[name]["status"] == "ok" and data[name]["version"] and data[name]["registered"], data[name]


def test_example_plugin_is_discovered_through_its_entry_point(registry):
    result = invoke("list", "envs")
    assert result.exit_code == 0
    assert "example-pointmass" in result.output and "fastembody-example-pointmass" in result.output


def test_broken_plugin_shows_in_plugins_output(monkeypatch, registry):
    class Dist:
        metadata = {"Name": "broken-dist"}
        version = "0.0.1"

    class EP:
        name, value, dist = "broken", "broken_mod", Dist()

        def load(self):
            raise ImportError("no module named 'sim_sdk'")

    real = plugins._entry_points()
    monkeypatch.setattr(plugins, "_entry_points", lambda: real + [EP()])
    monkeypatch.setattr(plugins, "_registry", plugins.Registry())
    result = invoke("plugins", "--json")
    assert result.exit_code == 0
    data = {p["name"]: p for p in json.loads(result.stdout)}
    assert data["broken-dist"]["status"] == "error" and "sim_sdk" in data["broken-dist"]["error"]
    assert data["fastembody-core"]["status"] == "ok"
    assert "Warning: plugin broken-dist 0.0.1: failed to import broken_mod" in result.stderr


def _config(tmp_path, **changes):
    data = {"name": "cli", "env": {"name": "example-pointmass", "params": {"num_envs": 4}},
            "algorithm": {"name": "ppo"}}
    data.update(changes)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"sed": 1}, "c.yaml: sed: unknown key; did you mean 'seed'?"),
        ({"env": {"name": "example-pointmass", "params": {"num_env": 4}}},
         "c.yaml: env.params.num_env: unknown key; did you mean 'env.params.num_envs'?"),
        ({"env": {"name": "example-pointmass", "params": {"num_envs": 0}}}, "c.yaml: env.params.num_envs: must be >= 1"),
        ({"env": {"name": "no-such-env"}}, "c.yaml: env.name: unknown env 'no-such-env' (installed:"),
    ],
)
def test_bad_config_is_one_line_and_non_zero(tmp_path, registry, changes, expected):
    result = invoke("run", str(_config(tmp_path, **changes)))
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_missing_config_file(tmp_path):
    result = invoke("run", str(tmp_path / "missing.yaml"))
    assert result.exit_code == 2 and "missing.yaml: file not found" in result.stderr


def test_bad_override(tmp_path, registry):
    result = invoke("run", str(_config(tmp_path)), "--set", "seed")
    assert result.exit_code == 2 and "expected KEY=VALUE" in result.stderr


def test_debug_shows_traceback(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "fastembody_core", "--debug", "run", str(tmp_path / "missing.yaml")],
        capture_output=True, text=True,
    )
    assert out.returncode != 0 and "Traceback" in out.stderr


def test_python_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "fastembody_core", "list", "trainers"], capture_output=True, text=True)
    assert out.returncode == 0 and "on-policy" in out.stdout
