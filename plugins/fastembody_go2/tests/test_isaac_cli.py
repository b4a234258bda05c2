"""`fastembody run configs/unitree_go2_isaac.yaml` end to end against the legged_gym stand-in, the import order
(isaacgym before torch), and the one-line message when Isaac Gym, legged_gym or rsl_rl is missing."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fastembody_core.config import to_plain
from fastembody_go2.terrain.params import TerrainParams

from isaac_testing import FASTEMBODY, ROOT, STANDIN, standin_env as _env, tiny_run

CONFIG = ROOT / "configs" / "unitree_go2_isaac.yaml"

# sitecustomize.py files, put first on PYTHONPATH of a subprocess
RECORD_IMPORT_ORDER = '''
import os, sys
class _Recorder:
    def find_spec(self, name, path=None, target=None):
        if name in ("torch", "isaacgym"):
            with open(os.environ["IMPORT_ORDER_LOG"], "a") as log:
                log.write(name + "\\n")
        return None
sys.meta_path.insert(0, _Recorder())
'''
BLOCK_ISAAC = '''
import sys
class _Blocker:  # as if isaacgym, legged_gym and rsl_rl were not installed, whatever this machine has
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("isaacgym", "legged_gym", "rsl_rl"):
            raise ModuleNotFoundError("No module named %r" % name, name=name)
        return None
sys.meta_path.insert(0, _Blocker())
'''
TINY_RUN = tiny_run(save_interval=2)


def _sitecustomize(folder: Path, code: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(code)
    return folder


@pytest.fixture(scope="module")
def standin_run(tmp_path_factory):
    """One tiny PPO run through the CLI with the stand-in, recording the first imports of torch and isaacgym."""
    tmp = tmp_path_factory.mktemp("isaac_run")
    recorder = _sitecustomize(tmp / "recorder", RECORD_IMPORT_ORDER)
    log, run_dir = tmp / "imports.log", tmp / "run"
    out = subprocess.run(
        [FASTEMBODY, "run", str(CONFIG), "--run-dir", str(run_dir), *TINY_RUN],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
        env=_env(recorder, STANDIN, IMPORT_ORDER_LOG=str(log)),
    )
    return out, run_dir, log.read_text().split() if log.exists() else []


def test_ppo_trains_through_the_adapter(standin_run):
    out, run_dir, _ = standin_run
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["model_2.pt", "model_3.pt"]
    resolved = yaml.safe_load((run_dir / "config.resolved.yaml").read_text())
    assert resolved["env"] == {
        "name": "go2-isaac",
        "params": {"num_envs": 32, "sim_device": None, "rl_device": None, "headless": True, "seed": None,
                   "cfg_overrides": {"env.episode_length_s": 0.5}, "terrain": to_plain(TerrainParams()),
                   "course": None},
    }
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records] == [1, 2, 3]
    for record in records:
        assert all(math.isfinite(record[k]) for k in ("Loss/surrogate", "Loss/value", "Train/mean_reward"))
        assert record["env_steps"] == 32 * 16 * record["iteration"]
        # legged_gym's per-term episode sums reach the logs; episodes end by time-out (0.5 s = 25 steps) or contact
        assert "Episode/rew_tracking_lin_vel" in record and "Episode/rew_torques" in record, sorted(record)
        assert 1 <= record["Train/mean_episode_length"] <= 26


def test_isaacgym_is_imported_before_torch(standin_run):
    out, _, order = standin_run
    assert out.returncode == 0, out.stderr[-3000:]
    first_imports = list(dict.fromkeys(order))  # preload also looks isaacgym up with find_spec before importing it
    assert first_imports[:2] == ["isaacgym", "torch"], order


def test_standin_refuses_torch_first():
    """The stand-in is faithful to Isaac Gym's gymdeps check, so the run above proves the order."""
    code = "import torch\nimport isaacgym"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(STANDIN), timeout=120)
    assert out.returncode != 0
    assert "PyTorch was imported before isaacgym modules" in out.stderr
    code = "import torch\nimport fastembody_go2.isaac.preload"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(STANDIN), timeout=120)
    assert out.returncode != 0 and "EnvError: isaacgym must be imported before torch" in out.stderr, out.stderr


def test_missing_isaac_gym_is_one_clear_line(tmp_path):
    blocker = _sitecustomize(tmp_path / "blocker", BLOCK_ISAAC)
    run_dir = tmp_path / "run"
    out = subprocess.run(
        [FASTEMBODY, "run", str(CONFIG), "--run-dir", str(run_dir), "--set", "device=cpu"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, env=_env(blocker),
    )
    assert out.returncode == 1, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr and not run_dir.exists()
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, out.stderr
    message = errors[0]
    for needed in ("isaacgym, legged_gym, rsl_rl", "Isaac Gym Preview 4", "https://developer.nvidia.com/isaac-gym",
                   "Python 3.8", "unitree_rl_gym", "rsl_rl v1.0.2", "pip install -e", "'numpy<1.24'",
                   "docs/isaac_gym.md"):
        assert needed in message, (needed, message)


def test_plugins_and_go2_toy_work_without_isaac_gym(tmp_path):
    blocker = _sitecustomize(tmp_path / "blocker", BLOCK_ISAAC)
    out = subprocess.run([FASTEMBODY, "plugins", "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env=_env(blocker))
    assert out.returncode == 0, out.stderr
    go2 = next(p for p in json.loads(out.stdout) if p["name"] == "fastembody-go2")
    assert go2["status"] == "ok" and go2["registered"]["envs"] == ["go2-toy", "go2-mujoco", "isaac", "go2-isaac"], go2
    code = (
        "import sys\n"
        "from fastembody_core import RunContext, get_registry\n"
        "reg = get_registry().get('envs', 'go2-toy')\n"
        "env = reg.factory(reg.params(num_envs=4), RunContext())\n"
        "import torch\n"
        "obs, rewards, dones, extras = env.step(torch.zeros(4, env.num_actions))\n"
        "assert torch.isfinite(rewards).all()\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('isaacgym', 'legged_gym')]\n"
        "print('go2-toy ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env=_env(blocker))
    assert out.returncode == 0 and "go2-toy ok" in out.stdout, out.stderr[-3000:]


def test_old_numpy_aliases_are_one_clear_line(tmp_path):
    """Isaac Gym Preview 4 uses np.float (gone in NumPy 1.24): the stand-in reproduces it on request."""
    out = subprocess.run(
        [FASTEMBODY, "run", str(CONFIG), "--run-dir", str(tmp_path / "run"), *TINY_RUN],
        capture_output=True, text=True, cwd=ROOT, timeout=300, env=_env(STANDIN, STANDIN_OLD_NUMPY="1"),
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr[-3000:]
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "pip install 'numpy<1.24'" in errors[0] and "docs/isaac_gym.md" in errors[0], errors


def test_plugin_module_stays_torch_free():
    code = (
        "import sys\n"
        "import fastembody_go2.plugin, fastembody_go2.isaac\n"
        "from fastembody_core import get_registry\n"
        "reg = get_registry().get('envs', 'go2-isaac')\n"
        "assert reg.preload == 'fastembody_go2.isaac.preload', reg.preload\n"
        "assert get_registry().get('envs', 'isaac').preload == reg.preload\n"
        "loaded = [m for m in ('torch', 'isaacgym', 'legged_gym', 'numpy') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env=_env(STANDIN))
    assert out.returncode == 0, out.stderr[-3000:]
