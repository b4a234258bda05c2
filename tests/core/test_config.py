"""Config loading, overrides and validation errors (file, dotted key, nearest valid key)."""
import json
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import pytest
import yaml

from fastembody_core import ConfigError, PluginError, hookimpl
from fastembody_core.config import apply_overrides, experiment_from_dict, load_experiment, write_resolved


@dataclass
class NetParams:
    hidden: List[int] = field(default_factory=lambda: [64, 64])
    activation: str = "elu"


@dataclass
class AlgoParams:
    learning_rate: float = 1e-3
    num_mini_batches: int = 4
    clip: Optional[float] = 0.2
    net: NetParams = field(default_factory=NetParams)

    def __post_init__(self):
        if self.learning_rate <= 0:
            raise ConfigError(f"must be > 0, got {self.learning_rate}", key="learning_rate")


@dataclass
class EnvParams:
    num_envs: int = 8
    command_range: Tuple[float, float] = (-1.0, 1.0)
    reward_scales: Dict[str, float] = field(default_factory=lambda: {"alive": 1.0})
    required_thing: str = field(default="x")


@dataclass
class StrictParams:
    needed: int


class FakePlugin:
    @hookimpl
    def register_envs(self, register):
        register("cfg-env", lambda p, c: None, params=EnvParams, description="test env")
        register("strict-env", lambda p, c: None, params=StrictParams, description="needs a key")

    @hookimpl
    def register_algorithms(self, register):
        register("cfg-algo", lambda s, p, c: None, params=AlgoParams, description="test algorithm")


@pytest.fixture
def fake(register_plugin):
    register_plugin(FakePlugin(), "fake-config-plugin")


def base():
    return {"name": "t", "seed": 3, "env": {"name": "cfg-env", "params": {}}, "algorithm": {"name": "cfg-algo"}}


def test_valid_config_builds_dataclasses(fake):
    data = base()
    data["algorithm"]["params"] = {"learning_rate": "3e-4", "net": {"hidden": [8, 8]}}
    exp = experiment_from_dict(data, "x.yaml")
    assert exp.algorithm.params.learning_rate == pytest.approx(3e-4)
    assert exp.algorithm.params.net.hidden == [8, 8]
    assert exp.env.params.command_range == (-1.0, 1.0)
    assert exp.trainer.name == "on-policy" and exp.trainer.params.num_steps_per_env == 24
    assert exp.to_dict()["env"]["params"]["command_range"] == [-1.0, 1.0]


def test_unknown_key_names_file_dotted_key_and_near_name(fake):
    data = base()
    data["algorithm"]["params"] = {"learnin_rate": 1e-3}
    with pytest.raises(ConfigError) as err:
        experiment_from_dict(data, "exp.yaml")
    msg = str(err.value)
    assert "exp.yaml" in msg and "algorithm.params.learnin_rate" in msg and "algorithm.params.learning_rate" in msg
    assert "\n" not in msg


def test_unknown_top_level_key(fake):
    data = base()
    data["sed"] = 1
    with pytest.raises(ConfigError, match=r"sed.*did you mean 'seed'"):
        experiment_from_dict(data, "exp.yaml")


def test_nested_unknown_key(fake):
    data = base()
    data["algorithm"]["params"] = {"net": {"hiden": [1]}}
    with pytest.raises(ConfigError, match=r"algorithm\.params\.net\.hiden.*algorithm\.params\.net\.hidden"):
        experiment_from_dict(data, "exp.yaml")


def test_wrong_type_names_key_and_expected_type(fake):
    data = base()
    data["env"]["params"] = {"num_envs": "many"}
    with pytest.raises(ConfigError, match=r"exp.yaml: env\.params\.num_envs: expected int, got str 'many'"):
        experiment_from_dict(data, "exp.yaml")
    data["env"]["params"] = {"num_envs": True}
    with pytest.raises(ConfigError, match="expected int"):
        experiment_from_dict(data, "exp.yaml")
    data["env"]["params"] = {"reward_scales": {"alive": "lots"}}
    with pytest.raises(ConfigError, match=r"env\.params\.reward_scales\.alive: expected float"):
        experiment_from_dict(data, "exp.yaml")
    data["env"]["params"] = {"command_range": [1.0]}
    with pytest.raises(ConfigError, match=r"command_range: expected 2 values"):
        experiment_from_dict(data, "exp.yaml")


def test_missing_required_keys(fake):
    data = base()
    del data["env"]
    with pytest.raises(ConfigError, match=r"exp.yaml: env: missing required key"):
        experiment_from_dict(data, "exp.yaml")
    data = base()
    data["env"] = {"name": "strict-env", "params": {}}
    with pytest.raises(ConfigError, match=r"env\.params\.needed: missing required key"):
        experiment_from_dict(data, "exp.yaml")


def test_post_init_error_gets_file_and_full_key(fake):
    data = base()
    data["algorithm"]["params"] = {"learning_rate": -1}
    with pytest.raises(ConfigError, match=r"^exp.yaml: algorithm\.params\.learning_rate: must be > 0, got -1"):
        experiment_from_dict(data, "exp.yaml")


def test_unknown_env_lists_installed_and_provider(fake):
    data = base()
    data["env"]["name"] = "go2-toy-typo"
    with pytest.raises(PluginError, match=r"unknown env 'go2-toy-typo' \(installed: .*cfg-env"):
        experiment_from_dict(data, "exp.yaml")


def test_an_algorithm_an_installed_plugin_hints_at_names_its_package(registry, monkeypatch):
    from fastembody_core import plugins
    from fastembody_go2 import plugin as go2_plugin

    monkeypatch.setattr(plugins, "_registry", plugins.Registry(load_entry_points=False))  # only what we add
    plugins._registry.register_plugin(FakePlugin(), name="fake-config-plugin")
    plugins._registry.register_plugin(go2_plugin, name="fastembody-go2")  # its recipes need PPO / distillation
    data = {"name": "t", "env": {"name": "cfg-env"}, "algorithm": {"name": "distillation"}}
    with pytest.raises(PluginError, match=r"exp.yaml: algorithm.name: unknown algorithm 'distillation' .*it is "
                                          r"provided by fastembody-distill: pip install fastembody-distill"):
        experiment_from_dict(data, "exp.yaml")


def test_overrides_parse_yaml_values_not_eval():
    data = {"a": {"b": 1}}
    apply_overrides(data, ["a.b=3e-4", "a.c=[1, 2]", "a.d.e=true", "x=__import__('os')"])
    assert data["a"]["b"] == "3e-4" or data["a"]["b"] == pytest.approx(3e-4)
    assert data["a"]["c"] == [1, 2] and data["a"]["d"]["e"] is True
    assert data["x"] == "__import__('os')"
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        apply_overrides(data, ["novalue"])
    with pytest.raises(ConfigError, match="a.b is not a mapping"):
        apply_overrides(data, ["a.b.c=1"])


def test_yaml_json_twins_and_resolved_round_trip(fake, tmp_path):
    data = base()
    data["algorithm"]["params"] = {"learning_rate": 5e-4}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "c.json").write_text(json.dumps(data))
    a = load_experiment(tmp_path / "c.yaml", ["env.params.num_envs=16"])
    b = load_experiment(tmp_path / "c.json", ["env.params.num_envs=16"])
    assert a.to_dict() == b.to_dict()
    run_dir = tmp_path / "run"
    write_resolved(a, run_dir)
    again = load_experiment(run_dir)
    assert again.to_dict() == a.to_dict() and again.env.params.num_envs == 16


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        load_experiment(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: cannot parse at line"):
        load_experiment(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_experiment(lst)
