"""Every shipped config validates against the installed plugins, and each JSON twin says the same as its YAML."""
import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from fastembody_core.config import load_experiment

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
YAMLS = sorted(CONFIGS.glob("*.yaml"))


def test_configs_are_shipped():
    assert {"go2_toy_quick.yaml", "unitree_go2_ppo.yaml", "go2_distillation.yaml", "unitree_go2_isaac.yaml"} <= {
        p.name for p in YAMLS}


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.name)
def test_config_validates_and_its_json_twin_matches(path):
    experiment = load_experiment(path)
    assert experiment.env.name and experiment.algorithm.name
    twin = path.with_suffix(".json")
    if twin.exists():
        assert json.loads(twin.read_text()) == yaml.safe_load(path.read_text()), f"{twin.name} differs from {path.name}"
        assert dataclasses.replace(load_experiment(twin), source=experiment.source) == experiment


def test_go2_ppo_configs_have_json_twins():
    for name in ("unitree_go2_ppo", "go2_distillation", "unitree_go2_isaac"):
        assert (CONFIGS / f"{name}.json").exists(), name
