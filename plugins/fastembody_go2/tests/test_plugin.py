"""go2-toy is discoverable through the fastembody entry point and built by its factory."""
from fastembody_core import EnvSpec, RunContext, get_registry

from fastembody_go2.toy.config import Go2ToyParams


def test_go2_toy_is_registered_with_its_params():
    reg = get_registry().get("envs", "go2-toy")
    assert reg.params is Go2ToyParams
    assert reg.plugin == "fastembody-go2"


def test_factory_builds_an_env_whose_spec_names_terms():
    reg = get_registry().get("envs", "go2-toy")
    env = reg.factory(Go2ToyParams(num_envs=8, compile=False), RunContext(seed=3))
    spec = env.spec()
    assert isinstance(spec, EnvSpec)
    assert spec.observation_shapes == {"policy": (48,), "deployable": (45,), "critic": (56,)}
    assert spec.num_actions == 12 and spec.max_episode_length == 1000 and abs(spec.step_dt - 0.02) < 1e-9
    assert spec.observation_terms["policy"][0] == "base_lin_vel"
    assert "base_lin_vel" not in spec.observation_terms["deployable"]
    assert set(spec.privileged_terms) >= {"base_lin_vel", "friction", "payload", "motor_strength", "base_height",
                                          "foot_contacts"}
