"""The Isaac Gym path (core, go2, ppo, distill) and the robot runner (deploy) must stay importable on Python 3.8:
checked with vermin."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ISAAC_PATH = ["fastembody_core", "plugins/fastembody_go2", "plugins/fastembody_ppo", "plugins/fastembody_distill",
              "plugins/fastembody_deploy"]
"""...and the robot runner, which runs on the Go2's onboard computer (Ubuntu 20.04, Python 3.8)."""


def _vermin(*paths):
    exe = shutil.which("vermin") or str(Path(sys.executable).with_name("vermin"))
    cmd = [exe, "--target=3.8-", "--violations", "--no-tips", "--eval-annotations", "-q", *paths]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)


def test_isaac_path_is_python38_compatible():
    paths = [p for p in ISAAC_PATH if (ROOT / p).exists()]
    assert "fastembody_core" in paths
    out = _vermin(*paths)
    assert out.returncode == 0, f"vermin found code newer than Python 3.8:\n{out.stdout}{out.stderr}"


def test_vermin_catches_newer_syntax(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from dataclasses import dataclass\n@dataclass\nclass P:\n    x: list[int]\n    y: int | None = None\n")
    out = _vermin(str(bad))
    assert out.returncode != 0


@pytest.mark.parametrize("pyproject", ["pyproject.toml", *[f"{p}/pyproject.toml" for p in ISAAC_PATH[1:]]])
def test_requires_python_floor_is_38(pyproject):
    path = ROOT / pyproject
    if not path.exists():
        pytest.fail(f"{pyproject} is missing")
    assert 'requires-python = ">=3.8"' in path.read_text()
