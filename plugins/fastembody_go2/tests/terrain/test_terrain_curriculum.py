"""TerrainCurriculum: legged_gym's rule (up > half a tile, down < half the commanded distance, solved -> random)."""
import pytest
import torch

from fastembody_go2.terrain import TerrainCurriculum, TerrainParams, generate_terrain


@pytest.fixture(scope="module")
def terrain():
    return generate_terrain(TerrainParams(type="flat", num_rows=10, num_cols=4), 0)


def _generator(seed=0):
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def test_initial_levels_and_columns(terrain):
    curriculum = TerrainCurriculum(terrain, max_init_level=5)
    curriculum.initial(1000, _generator())
    assert curriculum.num_envs == 1000
    assert set(curriculum.levels.tolist()) == set(range(6))
    assert torch.bincount(curriculum.columns).tolist() == [250] * 4
    assert bool((torch.diff(curriculum.columns) >= 0).all())
    off = TerrainCurriculum(terrain, max_init_level=5, enabled=False)
    off.initial(1000, _generator())
    assert off.max_init_level == 9 and int(off.levels.max()) == 9
    assert TerrainCurriculum(terrain, max_init_level=50).max_init_level == 9


def test_levels_move_up_down_or_stay_by_the_rule(terrain):
    curriculum = TerrainCurriculum(terrain)
    curriculum.initial(6, _generator())
    curriculum.levels = torch.tensor([3, 3, 3, 0, 3, 3])
    ids = torch.arange(6)
    walked = torch.tensor([4.5, 1.0, 3.0, 0.0, 3.9, 4.5])
    commanded = torch.tensor([10.0, 10.0, 5.0, 10.0, 7.0, 20.0])  # down below half of it
    curriculum.update(ids, walked, commanded, _generator())
    # up (> 4 m) | down (1 < 5) | stay (3 >= 2.5) | down but clamped at 0 | stay (3.9 >= 3.5) | up wins over down
    assert curriculum.levels.tolist() == [4, 2, 3, 0, 3, 4]


def test_only_the_given_envs_move(terrain):
    curriculum = TerrainCurriculum(terrain)
    curriculum.initial(4, _generator())
    curriculum.levels = torch.tensor([2, 2, 2, 2])
    curriculum.update(torch.tensor([1, 3]), torch.tensor([5.0, 0.0]), torch.tensor([1.0, 1.0]), _generator())
    assert curriculum.levels.tolist() == [2, 3, 2, 1]


def test_solved_robots_go_to_a_random_level(terrain):
    curriculum = TerrainCurriculum(terrain)
    curriculum.initial(400, _generator())
    curriculum.levels = torch.full((400,), 9)
    curriculum.update(torch.arange(400), torch.full((400,), 6.0), torch.full((400,), 5.0), _generator(1))
    levels = curriculum.levels
    assert int(levels.min()) >= 0 and int(levels.max()) <= 9
    assert len(set(levels.tolist())) == 10  # spread over every level, not clamped at the top


def test_disabled_curriculum_never_moves(terrain):
    curriculum = TerrainCurriculum(terrain, enabled=False)
    curriculum.initial(8, _generator())
    before = curriculum.levels.clone()
    curriculum.update(torch.arange(8), torch.full((8,), 9.0), torch.zeros(8), _generator())
    assert torch.equal(curriculum.levels, before)


def test_origins_and_mean_level(terrain):
    curriculum = TerrainCurriculum(terrain)
    curriculum.initial(8, _generator())
    curriculum.levels = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    ids = torch.tensor([2, 7])
    expected = terrain.tile_origins[torch.tensor([2, 7]), curriculum.columns[ids]]
    assert torch.equal(curriculum.origins(ids), expected)
    assert curriculum.origins().shape == (8, 3)
    assert float(curriculum.origins(ids)[0, 0]) == pytest.approx(2.5 * 8.0)
    assert float(curriculum.mean_level()) == pytest.approx(3.5)


def test_state_dict_round_trip_resumes_exactly(terrain):
    first = TerrainCurriculum(terrain)
    first.initial(64, _generator())
    generator = _generator(3)
    walked = torch.rand(64, generator=_generator(4)) * 8
    first.update(torch.arange(64), walked, torch.full((64,), 6.0), generator)
    state, gen_state = first.state_dict(), generator.get_state()
    resumed = TerrainCurriculum(terrain)
    resumed.load_state_dict(state)
    assert torch.equal(resumed.levels, first.levels) and torch.equal(resumed.columns, first.columns)
    resumed_generator = torch.Generator()
    resumed_generator.set_state(gen_state)
    for curriculum, gen in ((first, generator), (resumed, resumed_generator)):
        curriculum.update(torch.arange(64), walked.flip(0), torch.full((64,), 6.0), gen)
    assert torch.equal(resumed.levels, first.levels)
    state["levels"][0] = 10
    with pytest.raises(ValueError, match="out of range"):
        resumed.load_state_dict(state)
