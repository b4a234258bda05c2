"""Sweep tests: tiny point-mass sweeps (the example plugin learns in seconds)."""
from pathlib import Path

import pytest
import yaml

POINTMASS = (Path(__file__).resolve().parents[2] / "examples" / "fastembody_example_pointmass"
             / "fastembody_example_pointmass" / "pointmass_ppo.yaml")
TINY = ["algorithm.params.schedule=fixed", "env.params.num_envs=64", "trainer.params.num_steps_per_env=8",
        "trainer.params.max_iterations=4", "trainer.params.save_interval=0"]
"""Overrides that make a point-mass run take about a second (after torch is loaded)."""


@pytest.fixture
def write_sweep(tmp_path):
    """Write a sweep file into tmp_path (root: tmp_path/sweeps) from keyword fields; returns its path."""

    def _write(name="sw", **fields):
        data = {"name": name, "base": str(POINTMASS), "set": list(TINY), "root": str(tmp_path / "sweeps"),
                "space": {"algorithm.params.learning_rate": {"type": "float", "low": 1e-5, "high": 1e-2,
                                                             "log": True}},
                "trials": 2}
        data.update(fields)
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return _write
