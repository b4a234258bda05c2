"""TerrainRunState: spawn points on the tiles, and a resume that refuses another ground before changing anything."""
import dataclasses

import pytest
import torch

from fastembody_core import CheckpointError
from fastembody_go2.kinematics import yaw_quat
from fastembody_go2.terrain import TerrainParams, TerrainRunState, generate_terrain
from fastembody_go2.terrain.spawn import SpawnSpec

PARAMS = TerrainParams(type="rough", num_rows=4, num_cols=2, border_size=1.0, max_init_level=2,
                       proportions={"rough_slope": 1.0, "discrete_obstacles": 1.0})  # random parts: the seed matters


@pytest.fixture(scope="module")
def terrain():
    return generate_terrain(PARAMS, 0)


def _uniform(generator):
    def draw(bounds, *shape):
        return torch.empty(*shape).uniform_(bounds[0], bounds[1], generator=generator)
    return draw


def _played(terrain, num_envs=6, spawn=None):
    state = TerrainRunState(terrain, PARAMS, num_envs, "go2-test", spawn)
    generator = torch.Generator().manual_seed(0)
    state.initialise(generator)
    ids = torch.arange(num_envs)
    xy, quat = state.spawn_points(ids, yaw_quat(torch.zeros(num_envs)), _uniform(generator))
    return state, xy, quat


def test_spawn_points_lie_around_the_tile_origins_and_are_recorded(terrain):
    state, xy, quat = _played(terrain, spawn=SpawnSpec(xy_noise=0.5, yaw=0.3))
    origins = state.curriculum.origins(torch.arange(6))[:, :2]
    assert float((xy - origins).abs().max()) <= 0.5 and torch.equal(state.spawn_xy, xy)
    torch.testing.assert_close(quat, yaw_quat(torch.full((6,), 0.3)))


def test_state_round_trips_and_other_ground_is_refused_unchanged(terrain):
    state, _, _ = _played(terrain)
    saved = state.state_dict()
    assert saved["slope_threshold"] == terrain.slope_threshold
    fresh = TerrainRunState(terrain, PARAMS, 6, "go2-test")
    fresh.load_state_dict(saved)
    assert torch.equal(fresh.curriculum.levels, state.curriculum.levels)
    assert torch.equal(fresh.spawn_xy, state.spawn_xy)
    legacy = {k: v for k, v in saved.items() if k != "slope_threshold"}  # checkpoints written before it was kept
    TerrainRunState(terrain, PARAMS, 6, "go2-test").load_state_dict(legacy)

    cases = {
        "another terrain \\(": generate_terrain(PARAMS, 1),  # another seed
        "another terrain surface": dataclasses.replace(terrain, slope_threshold=0.5),
    }
    for message, ground in cases.items():
        other = TerrainRunState(ground, PARAMS, 6, "go2-test")
        with pytest.raises(CheckpointError, match=f"go2-test: .*{message}"):
            other.load_state_dict(saved)
        assert other.curriculum.num_envs == 0 and not other.spawn_xy.any()  # nothing changed
    with pytest.raises(CheckpointError, match="this env has 5 envs"):
        TerrainRunState(terrain, PARAMS, 5, "go2-test").load_state_dict(dict(saved, spawn_xy=torch.zeros(5, 2)))
    with pytest.raises(CheckpointError, match="spawn_xy has shape"):
        TerrainRunState(terrain, PARAMS, 5, "go2-test").load_state_dict(saved)
