"""The plugin registers ``ppo`` without importing torch; the factory builds a working AlgorithmHandle."""
import subprocess
import sys

from fastembody_core import AlgorithmHandle, RunContext, get_registry
from fastembody_ppo import PPOParams


def test_plugin_module_is_torch_free():
    code = "import sys, fastembody_ppo.plugin; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_registry_builds_ppo(env):
    reg = get_registry().get("algorithms", "ppo")
    assert reg.params is PPOParams and reg.plugin == "fastembody-ppo"
    algo = reg.factory(env.spec(), PPOParams(actor_hidden_dims=[8], critic_hidden_dims=[8]), RunContext())
    assert isinstance(algo, AlgorithmHandle)
