"""go2-isaac on rough terrain: the Go2 terrain params as legged_gym's terrain cfg, against the legged_gym stand-in.

The mapping itself is torch- and Isaac-free and is checked in this process. Checks that build the env run in a
fresh process (Isaac Gym must be imported before torch, which pytest's process already has): this file is also
that probe, ``python test_isaac_terrain.py CHECK...`` with tests/isaac_standin on PYTHONPATH, printing one JSON
line of check -> "ok" or the failure. ``STANDIN_LEGGED_GYM=legged_gym`` makes the stand-in's go2 task use
leggedrobotics/legged_gym's LeggedRobot (with its terrain code); without it, go2 is unitree_rl_gym's, which
builds a ground plane only.
"""
import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest
import yaml

from fastembody_core import ConfigError
from fastembody_core.config import build_dataclass, load_experiment
from fastembody_go2.isaac.config import Go2IsaacParams
from fastembody_go2.isaac.terrain import TERRAIN_METHODS, missing_terrain_support, terrain_cfg_settings
from fastembody_go2.terrain.params import TerrainParams

from isaac_testing import FASTEMBODY, ROOT, STANDIN, Probe, make_go2_isaac, standin_env as _env, tiny_run

CONFIG = ROOT / "configs" / "go2_rough_isaac.yaml"

SCAN_X = [round(-0.8 + 0.1 * i, 10) for i in range(17)]
SCAN_Y = [round(-0.5 + 0.1 * i, 10) for i in range(11)]
DEFAULT_ROUGH = {  # legged_gym's LeggedRobotCfg.terrain values (mesh_type trimesh), by hand
    "terrain.mesh_type": "trimesh",
    "terrain.selected": False,
    "terrain.curriculum": True,
    "terrain.horizontal_scale": 0.1,
    "terrain.vertical_scale": 0.005,
    "terrain.slope_treshold": 0.75,
    "terrain.border_size": 25.0,
    "terrain.terrain_length": 8.0,
    "terrain.terrain_width": 8.0,
    "terrain.num_rows": 10,
    "terrain.num_cols": 20,
    "terrain.max_init_terrain_level": 5,
    "terrain.terrain_proportions": [0.1, 0.1, 0.35, 0.25, 0.2],
    "terrain.measure_heights": True,
    "terrain.measured_points_x": SCAN_X,
    "terrain.measured_points_y": SCAN_Y,
    "env.num_observations": 48 + 187,
}
KIND_OF_TYPE = {  # legged_gym's make_terrain branch -> our tile type
    "slope_up": "smooth_slope_up", "slope_down": "smooth_slope_down", "rough_slope": "rough_slope",
    "stairs_up": "stairs_up", "stairs_down": "stairs_down", "discrete": "discrete_obstacles",
}
TINY_RUN = tiny_run(save_interval=3)


def _rough(**terrain: object) -> Go2IsaacParams:
    return Go2IsaacParams(terrain=dict(type="rough", **terrain))


def _assert_settings(settings: Dict[str, object], expected: Dict[str, object]) -> None:
    assert list(settings) == list(expected), sorted(set(settings) ^ set(expected))
    for name, value in expected.items():
        if isinstance(value, bool) or isinstance(value, str):
            assert settings[name] == value and type(settings[name]) is type(value), (name, settings[name])
        else:
            assert settings[name] == pytest.approx(value, rel=1e-12, abs=1e-12), (name, settings[name])
            assert type(settings[name]) is type(value), (name, type(settings[name]))


# -- the mapping (in this process) ----------------------------------------------------------------------
def test_flat_default_maps_nothing_and_keeps_every_override():
    params = Go2IsaacParams()
    assert params.terrain == TerrainParams() and params.terrain.type == "flat"
    assert terrain_cfg_settings(params.terrain) == {}
    # with flat ground the terrain block sets nothing, so legged_gym's own terrain fields stay free, as before
    params = Go2IsaacParams(cfg_overrides={"terrain": {"mesh_type": "trimesh", "num_rows": 3},
                                           "env.num_observations": 9})
    assert params.cfg_overrides == {"terrain.mesh_type": "trimesh", "terrain.num_rows": 3, "env.num_observations": 9}


def test_rough_maps_every_field_to_legged_gym_values():
    _assert_settings(terrain_cfg_settings(_rough().terrain), DEFAULT_ROUGH)
    # legged_gym reads the list as running sums (Terrain.proportions): the five bins of its make_terrain
    numpy = pytest.importorskip("numpy")
    bins = terrain_cfg_settings(_rough().terrain)["terrain.terrain_proportions"]
    cumulative = [numpy.sum(bins[:i + 1]) for i in range(len(bins))]
    assert cumulative == pytest.approx([0.1, 0.2, 0.55, 0.8, 1.0], abs=1e-12)


def test_other_values_map_too():
    params = _rough(
        proportions={"smooth_slope_up": 1, "smooth_slope_down": 1, "rough_slope": 0, "stairs_up": 3,
                     "stairs_down": 2, "discrete_obstacles": 1},  # weights are normalised: sum 8
        num_rows=4, num_cols=7, tile_length=5.0, tile_width=5.0, horizontal_scale=0.05, vertical_scale=0.0025,
        border_size=2.0, curriculum=False, max_init_level=9, scan_x=[-0.2, 0.0, 0.2], scan_y=[-0.1, 0.1],
        stair_tread=0.3, rough_noise=0.05)
    expected = dict(DEFAULT_ROUGH)
    expected.update({
        "terrain.curriculum": False, "terrain.horizontal_scale": 0.05, "terrain.vertical_scale": 0.0025,
        "terrain.border_size": 2.0, "terrain.terrain_length": 5.0, "terrain.terrain_width": 5.0,
        "terrain.num_rows": 4, "terrain.num_cols": 7,
        "terrain.max_init_terrain_level": 3,  # clipped to num_rows - 1 (legged_gym would index past its rows)
        "terrain.terrain_proportions": [2 / 8, 0.0, 3 / 8, 2 / 8, 1 / 8],
        "terrain.measured_points_x": [-0.2, 0.0, 0.2], "terrain.measured_points_y": [-0.1, 0.1],
        "env.num_observations": 48 + 6,
    })
    _assert_settings(terrain_cfg_settings(params.terrain), expected)


def test_observation_width_is_48_plus_the_scan_points():
    assert terrain_cfg_settings(_rough().terrain)["env.num_observations"] == 48 + 17 * 11 == 235
    assert terrain_cfg_settings(_rough(scan_x=[0.0], scan_y=[0.0]).terrain)["env.num_observations"] == 49
    assert terrain_cfg_settings(_rough().terrain, base_observations=45)["env.num_observations"] == 45 + 187


@pytest.mark.parametrize(
    "terrain, key, text",
    [
        ({"proportions": {"stairs_up": 1.0, "flat": 0.2}}, "terrain.proportions.flat", "no flat tiles"),
        ({"proportions": {"smooth_slope_up": 0.2, "smooth_slope_down": 0.1}}, "terrain.proportions.smooth_slope_up",
         "must equal smooth_slope_down"),
        ({"proportions": {"smooth_slope_up": 0.2}}, "terrain.proportions.smooth_slope_up", "splits it in half"),
        ({"difficulty_min": 0.2}, "terrain.difficulty_min", "i / num_rows"),
        ({"difficulty_max": 0.5}, "terrain.difficulty_max", "i / num_rows"),
        ({"tile_width": 4.0}, "terrain.tile_width", "square"),
        ({"tile_length": 4.1, "tile_width": 4.1}, "terrain.tile_length", "truncates"),
        ({"border_size": 0.3}, "terrain.border_size", "truncates"),
        ({"platform_size": 2.0}, "terrain.platform_size", "3 m platform"),
        ({"stair_tread": 0.25}, "terrain.stair_tread", "0.31 m treads"),
        ({"rough_noise": 0.1}, "terrain.rough_noise", "0.05 m"),
        ({"scan_offset": 0.32}, "terrain.scan_offset", "base_z - 0.5 - height"),
        ({"scan_clip": 2.0}, "terrain.scan_clip", "clip(..., -1, 1)"),
    ],
)
def test_unrepresentable_terrain_is_one_named_error(terrain, key, text):
    with pytest.raises(ConfigError) as err:
        build_dataclass(Go2IsaacParams, {"terrain": dict(type="rough", **terrain)}, "env.params", "exp.yaml")
    assert err.value.key == f"env.params.{key}", str(err.value)
    assert text in str(err.value) and "\n" not in str(err.value), str(err.value)
    # the same terrain is fine for go2-toy and go2-mujoco (TerrainParams itself accepts it)
    TerrainParams(type="rough", **terrain)


def test_representable_variants_are_accepted():
    _rough(proportions={"smooth_slope_up": 2, "smooth_slope_down": 2})  # equal after normalising
    _rough(proportions={"stairs_up": 1, "flat": 0})
    _rough(stair_tread=0.3, platform_size=3.0)  # the same cells as legged_gym's 0.31 m treads (0.1 m cells)
    # flat ground never maps anything, so legged_gym's limits do not apply to it
    Go2IsaacParams(terrain={"type": "flat", "proportions": {"flat": 1.0}, "difficulty_max": 0.5})


@pytest.mark.parametrize(
    "override, value, ours",
    [
        ("terrain.num_rows", 5, "terrain.num_rows"),
        ("terrain.mesh_type", "heightfield", "terrain.type"),
        ("terrain.measure_heights", False, "terrain.type"),
        ("terrain.border_size", 5, "terrain.border_size"),
        ("terrain.terrain_proportions", [0.2, 0.2, 0.2, 0.2, 0.2], "terrain.proportions"),
        ("terrain.measured_points_x", [0.0], "terrain.scan_x"),
        ("env.num_observations", 48, "terrain.scan_x/scan_y"),
    ],
)
def test_cfg_override_contradicting_the_terrain_names_both(override, value, ours):
    with pytest.raises(ConfigError) as err:
        build_dataclass(Go2IsaacParams, {"terrain": {"type": "rough"}, "cfg_overrides": {override: value}},
                        "env.params", "exp.yaml")
    message = str(err.value)
    assert err.value.key == f"env.params.cfg_overrides.{override}", message
    assert message.startswith(f"exp.yaml: env.params.cfg_overrides.{override}: ") and f"env.params.{ours}" in message


def test_agreeing_and_unrelated_overrides_are_accepted():
    params = Go2IsaacParams(
        terrain={"type": "rough", "slope_threshold": 0.5},
        cfg_overrides={"terrain": {"num_rows": 10, "border_size": 25, "mesh_type": "trimesh",
                                   "static_friction": 0.8, "slope_treshold": 0.5},
                       "env.num_observations": 235, "rewards.scales.torques": -1e-4})
    assert params.cfg_overrides["terrain.static_friction"] == 0.8


def test_terrain_support_is_read_from_the_task_class():
    class PlaneOnly:  # unitree_rl_gym's LeggedRobot has none of legged_gym's terrain methods
        def _create_ground_plane(self):
            pass

    class WithTerrain(PlaneOnly):
        def _create_trimesh(self):
            pass

        def _init_height_points(self):
            pass

        def _get_heights(self, env_ids=None):
            pass

        def _update_terrain_curriculum(self, env_ids):
            pass

    assert missing_terrain_support(PlaneOnly) == list(TERRAIN_METHODS)
    assert missing_terrain_support(WithTerrain) == []


def test_rough_config_yaml_and_json_are_identical_and_valid():
    yaml_data = yaml.safe_load(CONFIG.read_text())
    assert yaml_data == json.loads(CONFIG.with_suffix(".json").read_text())
    experiment = load_experiment(CONFIG)
    assert experiment.env.name == "go2-isaac" and experiment.name == "go2_rough_isaac"
    terrain = experiment.env.params.terrain
    assert terrain == TerrainParams(type="rough")  # legged_gym's defaults, spelled out
    _assert_settings(terrain_cfg_settings(terrain), DEFAULT_ROUGH)
    flat = yaml.safe_load((ROOT / "configs/unitree_go2_isaac.yaml").read_text())
    del yaml_data["env"]["params"]["terrain"]
    assert {k: v for k, v in yaml_data.items() if k != "name"} == {k: v for k, v in flat.items() if k != "name"}


def test_isaac_and_terrain_modules_pass_vermin_for_python_3_8():
    vermin = shutil.which("vermin") or str(Path(sys.executable).with_name("vermin"))
    if not Path(vermin).exists():
        pytest.skip("vermin is not installed")
    pkg = ROOT / "plugins/fastembody_go2/fastembody_go2"
    out = subprocess.run([vermin, "--eval-annotations", "--target=3.8-", "--no-tips", "--violations",
                          str(pkg / "isaac"), str(pkg / "terrain")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]


# -- the env against the stand-in (a fresh process per stand-in mode) -----------------------------------
UPSTREAM_CHECKS = ["rough_cfg_reaches_legged_gym", "columns_match_ours", "terrain_level_is_logged",
                   "same_seed_same_ground", "unrelated_overrides_still_apply"]
UNITREE_CHECKS = ["flat_default_leaves_the_cfg_untouched", "plane_only_legged_robot_refuses_rough"]




@pytest.fixture(scope="module")
def upstream_results():
    return PROBE.results(UPSTREAM_CHECKS, STANDIN_LEGGED_GYM="legged_gym")


@pytest.fixture(scope="module")
def unitree_results():
    return PROBE.results(UNITREE_CHECKS)


@pytest.mark.parametrize("name", UPSTREAM_CHECKS)
def test_with_legged_gyms_terrain(upstream_results, name):
    assert upstream_results.get(name) == "ok", upstream_results.get(name, f"check {name} did not run")


@pytest.mark.parametrize("name", UNITREE_CHECKS)
def test_with_unitree_rl_gyms_legged_robot(unitree_results, name):
    assert unitree_results.get(name) == "ok", unitree_results.get(name, f"check {name} did not run")


def test_tiny_ppo_run_on_rough_terrain_through_the_cli(tmp_path):
    run_dir = tmp_path / "run"
    out = subprocess.run([FASTEMBODY, "run", str(CONFIG), "--run-dir", str(run_dir), *TINY_RUN],
                         capture_output=True, text=True, cwd=ROOT, timeout=600,
                         env=_env(STANDIN, STANDIN_LEGGED_GYM="legged_gym"))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["model_3.pt"]
    resolved = yaml.safe_load((run_dir / "config.resolved.yaml").read_text())
    assert resolved["env"]["params"]["terrain"]["type"] == "rough"
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records] == [1, 2, 3]
    assert all("Episode/terrain_level" in r for r in records), sorted(records[-1])
    assert all(0.0 <= r["Episode/terrain_level"] <= 9.0 for r in records)


def test_cli_errors_are_one_line_and_write_nothing(tmp_path):
    # unitree_rl_gym's LeggedRobot (the stand-in's default) cannot build terrain
    out = subprocess.run([FASTEMBODY, "run", str(CONFIG), "--run-dir", str(tmp_path / "a"), "--set", "device=cpu"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300, env=_env(STANDIN))
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error:")]
    assert out.returncode == 1 and "Traceback" not in out.stderr and len(errors) == 1, out.stderr[-3000:]
    assert "unitree_rl_gym's LeggedRobot always builds a flat ground plane" in errors[0], errors
    # a cfg_override contradicting the terrain block stops the config before anything runs
    out = subprocess.run([FASTEMBODY, "run", str(CONFIG), "--run-dir", str(tmp_path / "b"),
                          "--set", "env.params.cfg_overrides.terrain.num_rows=5"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300, env=_env(STANDIN))
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error:")]
    assert out.returncode == 2 and len(errors) == 1, out.stderr[-3000:]
    assert "env.params.cfg_overrides.terrain.num_rows" in errors[0] and "env.params.terrain.num_rows" in errors[0]
    assert not (tmp_path / "b").exists()


# -- the probe (run as a script with the stand-in on PYTHONPATH) -----------------------------------------
PROBE = Probe(__file__)
check = PROBE.check


@check
def rough_cfg_reaches_legged_gym() -> None:
    env = make_go2_isaac(Go2IsaacParams(num_envs=16, terrain={"type": "rough"}))
    from legged_gym.utils.task_registry import task_registry

    cfg, raw = env.unwrapped.cfg, env.unwrapped
    for name, value in DEFAULT_ROUGH.items():
        section, field = name.split(".")
        got = getattr(getattr(cfg, section), field)
        assert got == (pytest.approx(value) if isinstance(value, (float, list)) else value), (name, got)
    assert type(cfg.terrain.border_size) is int and cfg.terrain.border_size == 25  # legged_gym's field is an int
    assert [g[0] for g in raw.sim.grounds] == ["trimesh"]
    assert raw.terrain.proportions == pytest.approx([0.1, 0.2, 0.55, 0.8, 1.0])
    assert raw.height_samples.shape == (1300, 2100)
    spec = env.spec()
    assert spec.observation_shapes == {"policy": (235,), "critic": (235,)}, spec.observation_shapes
    assert spec.observation_terms["policy"][-1] == "height_scan" and "height_scan" in spec.privileged_terms
    groups = env.reset()
    assert groups["policy"].shape == (16, 235) and bool(groups["policy"][:, 48:].abs().le(5.5).all())
    assert task_registry.env_cfgs["go2"].terrain.mesh_type == "plane"  # the registered cfg is left as it was
    env.close()


@check
def columns_match_ours() -> None:
    from fastembody_go2.terrain import TILE_TYPES
    from fastembody_go2.terrain.generator import column_types, row_difficulties

    variants = [
        {},
        {"proportions": {"smooth_slope_up": 1, "smooth_slope_down": 1, "rough_slope": 3, "stairs_up": 1,
                         "stairs_down": 2, "discrete_obstacles": 0}, "num_cols": 13, "num_rows": 3,
         "max_init_level": 7, "scan_x": [-0.3, 0.0, 0.3, 0.6, 0.9], "scan_y": [-0.1, 0.0, 0.1]},
        {"proportions": {"stairs_down": 1, "discrete_obstacles": 1}, "num_cols": 5, "num_rows": 2},
    ]
    for terrain in variants:
        params = Go2IsaacParams(num_envs=24, terrain=dict(type="rough", **terrain))
        env = make_go2_isaac(params)
        raw, ours = env.unwrapped, params.terrain
        kinds = raw.terrain.tile_kinds
        assert all(row == kinds[0] for row in kinds), kinds  # a column holds one type
        expected = [TILE_TYPES[code] for code in column_types(ours)]
        assert [KIND_OF_TYPE[k] for k in kinds[0]] == expected, (kinds[0], expected)
        assert raw.terrain.tile_difficulties[:, 0].tolist() == pytest.approx(row_difficulties(ours))
        width = 48 + ours.num_scan_points
        assert env.observation_shapes["policy"] == (width,) and env.reset()["policy"].shape == (24, width)
        assert int(raw.terrain_levels.max()) <= min(ours.max_init_level, ours.num_rows - 1)
        env.close()


@check
def terrain_level_is_logged() -> None:
    import torch

    env = make_go2_isaac(Go2IsaacParams(num_envs=16, terrain={"type": "rough"},
                               cfg_overrides={"env.episode_length_s": 0.2}))
    env.reset()
    levels = []
    for _ in range(30):
        _, _, dones, extras = env.step(torch.zeros(16, env.num_actions))
        if "episode" in extras:
            levels.append(float(extras["episode"]["terrain_level"]))
    assert levels and all(0.0 <= level <= 9.0 for level in levels), levels
    env.close()


@check
def same_seed_same_ground() -> None:
    import torch

    params = Go2IsaacParams(num_envs=4, terrain={"type": "rough", "num_rows": 3, "num_cols": 6})
    first, again, other = (make_go2_isaac(params, seed).unwrapped.height_samples.clone() for seed in (5, 5, 6))
    assert torch.equal(first, again)  # legged_gym seeds NumPy's global state with the env seed first
    assert not torch.equal(first, other)  # rough-slope noise and obstacles differ with the seed


@check
def unrelated_overrides_still_apply() -> None:
    params = Go2IsaacParams(num_envs=4, terrain={"type": "rough", "slope_threshold": 0.5},
                            cfg_overrides={"terrain.static_friction": 0.6, "terrain.restitution": 0.1,
                                           "terrain.num_rows": 10, "rewards.scales.torques": -1e-4})
    env = make_go2_isaac(params)
    cfg = env.unwrapped.cfg
    assert (cfg.terrain.static_friction, cfg.terrain.restitution, cfg.terrain.num_rows) == (0.6, 0.1, 10)
    assert cfg.terrain.slope_treshold == 0.5  # from the terrain block
    assert env.unwrapped.sim.grounds[0][1].static_friction == 0.6
    env.close()


@check
def flat_default_leaves_the_cfg_untouched() -> None:
    import legged_gym.envs  # noqa: F401  (registers the tasks; legged_gym's own import order)
    from legged_gym.utils.helpers import class_to_dict
    from legged_gym.utils.task_registry import task_registry

    registered = copy.deepcopy(task_registry.env_cfgs["go2"])
    env = make_go2_isaac(Go2IsaacParams(num_envs=8, seed=7))
    built = class_to_dict(env.unwrapped.cfg)
    expected = class_to_dict(registered)
    expected["env"]["num_envs"], expected["seed"] = 8, 7
    expected["domain_rand"]["push_interval"] = built["domain_rand"]["push_interval"]  # legged_gym's _parse_cfg adds it
    assert built == expected
    assert [g[0] for g in env.unwrapped.sim.grounds] == ["plane"]
    assert env.observation_shapes == {"policy": (48,), "critic": (48,)}
    env.close()


@check
def plane_only_legged_robot_refuses_rough() -> None:
    from fastembody_core import EnvError

    try:
        make_go2_isaac(Go2IsaacParams(num_envs=4, terrain={"type": "rough"}))
    except EnvError as exc:
        message = str(exc)
        for needed in ("env.params.terrain.type 'rough'", "_create_trimesh", "_update_terrain_curriculum",
                       "unitree_rl_gym's LeggedRobot always builds a flat ground plane", "leggedrobotics/legged_gym",
                       "go2-toy / go2-mujoco", "docs/isaac_gym.md"):
            assert needed in message, (needed, message)
        assert "\n" not in message
    else:
        raise AssertionError("go2-isaac built rough terrain on a LeggedRobot without terrain code")



if __name__ == "__main__":
    PROBE.main(sys.argv[1:])
