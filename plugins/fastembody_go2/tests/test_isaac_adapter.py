"""The Isaac Gym adapter (fastembody_go2.isaac.env) against the legged_gym stand-in in tests/isaac_standin.

The checks live in isaac_adapter_probe.py and run in one fresh process (Isaac Gym must be imported before
torch, which pytest's process already has); each check is reported here as its own test.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
STANDIN = HERE / "isaac_standin"
PROBE = HERE / "isaac_adapter_probe.py"
CHECKS = [
    "spec_and_reset_groups",
    "step_maps_the_five_tuple",
    "stale_extras_are_not_passed_on",
    "episode_length_buf_is_proxied",
    "reset_after_inference_mode_steps",
    "privileged_critic_and_other_tasks",
    "cfg_overrides_reach_the_env",
    "seed_reaches_set_seed",
]


@pytest.fixture(scope="module")
def probe_results():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(STANDIN), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, str(PROBE), *CHECKS], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", CHECKS)
def test_adapter(probe_results, name):
    assert probe_results.get(name) == "ok", probe_results.get(name, f"check {name} did not run")
