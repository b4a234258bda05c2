"""TerrainParams: legged_gym defaults, one named ConfigError per bad input, and no torch at import."""
import subprocess
import sys

import pytest

from fastembody_core import ConfigError
from fastembody_core.config import build_dataclass

from fastembody_go2.terrain.params import DEFAULT_PROPORTIONS, TILE_TYPES, TerrainParams


def test_defaults_follow_legged_gym():
    params = TerrainParams()
    assert params.type == "flat"
    assert (params.num_rows, params.num_cols, params.tile_length, params.tile_width) == (10, 20, 8.0, 8.0)
    assert (params.horizontal_scale, params.vertical_scale, params.border_size) == (0.1, 0.005, 25.0)
    assert params.max_init_level == 5 and params.curriculum
    assert params.slope_threshold == 0.75  # legged_gym's trimesh slope_treshold
    assert len(params.scan_x) == 17 and len(params.scan_y) == 11 and params.num_scan_points == 187
    assert params.scan_x[0] == -0.8 and params.scan_x[-1] == 0.8 and 0.0 in params.scan_x
    assert params.scan_y[0] == -0.5 and params.scan_y[-1] == 0.5
    assert params.proportions == DEFAULT_PROPORTIONS and set(params.proportions) == set(TILE_TYPES)
    assert TerrainParams(type="rough").grid_cells == (1300, 2100)  # legged_gym's map size


def test_proportions_left_out_are_zero():
    params = TerrainParams(type="rough", proportions={"stairs_up": 2})
    assert params.proportions["stairs_up"] == 2.0 and params.proportions["rough_slope"] == 0.0


def test_importing_params_does_not_import_torch():
    code = ("import sys; import fastembody_go2.terrain; from fastembody_go2.terrain.params import TerrainParams; "
            "TerrainParams(type='rough'); assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("kwargs, key", [
    ({"proportions": {"stairs_up": 0.0, "stairs_down": 0.0}}, "proportions"),
    ({"proportions": {"stairs_up": -1.0}}, "proportions.stairs_up"),
    ({"tile_length": -8.0}, "tile_length"),
    ({"tile_width": 0.0}, "tile_width"),
    ({"horizontal_scale": -0.1}, "horizontal_scale"),
    ({"vertical_scale": 0.0}, "vertical_scale"),
    ({"border_size": -1.0}, "border_size"),
    ({"slope_threshold": -0.5}, "slope_threshold"),
    ({"slope_threshold": "steep"}, "slope_threshold"),
    ({"tile_length": 8.05}, "tile_length"),
    ({"platform_size": 9.0}, "platform_size"),
    ({"difficulty_max": 1.5}, "difficulty_max"),
    ({"difficulty_min": -0.1}, "difficulty_min"),
    ({"difficulty_min": 0.8, "difficulty_max": 0.2}, "difficulty_min"),
    ({"num_rows": 0}, "num_rows"),
    ({"num_cols": 2.5}, "num_cols"),
    ({"max_init_level": -1}, "max_init_level"),
    ({"type": "stairs"}, "type"),
    ({"scan_x": []}, "scan_x"),
    ({"scan_clip": 0.0}, "scan_clip"),
])
def test_each_bad_input_is_one_named_error(kwargs, key):
    with pytest.raises(ConfigError) as err:
        TerrainParams(**{"type": "rough", **kwargs})
    assert err.value.key == key
    assert str(err.value).startswith(f"{key}: ") and "\n" not in str(err.value)


def test_unknown_tile_type_suggests_the_nearest():
    with pytest.raises(ConfigError, match=r"proportions.stairs: unknown tile type 'stairs'; did you mean") as err:
        TerrainParams(proportions={"stairs": 1.0})
    assert "stairs_" in str(err.value)


def test_a_terrain_too_large_says_how_large():
    with pytest.raises(ConfigError) as err:
        TerrainParams(type="rough", num_rows=50, num_cols=50, horizontal_scale=0.01, border_size=0.0)
    assert err.value.key == "max_cells"
    assert "40000 x 40000 cells = 6.4 GB" in str(err.value)
    TerrainParams(type="flat", num_rows=50, num_cols=50, horizontal_scale=0.01)  # flat builds no array


def test_config_errors_carry_dotted_keys():
    with pytest.raises(ConfigError, match=r"^cfg.yaml: env.params.terrain.proportions.stair_up: unknown tile type"):
        build_dataclass(TerrainParams, {"proportions": {"stair_up": 1}}, "env.params.terrain", "cfg.yaml")
    with pytest.raises(ConfigError, match=r"^cfg.yaml: env.params.terrain.difficulty_max: must be in \[0, 1\]"):
        build_dataclass(TerrainParams, {"difficulty_max": 2}, "env.params.terrain", "cfg.yaml")
    params = build_dataclass(TerrainParams, {"type": "rough", "scan_x": [0, 0.5]}, "terrain", "cfg.yaml")
    assert params.scan_x == [0.0, 0.5] and params.num_scan_points == 22


def test_height_scan_on_flat_ground_is_allowed():
    assert TerrainParams(type="flat").num_scan_points == 187
