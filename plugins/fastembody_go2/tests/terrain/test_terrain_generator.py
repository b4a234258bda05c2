"""generate_terrain: deterministic per seed, legged_gym's layout, and the specified step heights / slopes."""
import math

import pytest
import torch

from fastembody_go2.terrain import TILE_TYPES, TerrainParams, generate_terrain, ground_height
from fastembody_go2.terrain.generator import column_types, row_difficulties

VS = 0.005


def _params(**kwargs):
    base = dict(type="rough", num_rows=4, num_cols=7, border_size=2.0, difficulty_min=0.1, difficulty_max=0.9,
                proportions={name: 1.0 for name in TILE_TYPES})
    base.update(kwargs)
    return TerrainParams(**base)


def _tile(terrain, params, row, col):
    length, width = params.tile_cells
    x0, y0 = terrain.border + row * length, terrain.border + col * width
    return terrain.heights[x0:x0 + length, y0:y0 + width]


def _column_of(params, name):
    return column_types(params).index(TILE_TYPES.index(name))


def test_same_seed_same_array_other_seed_other_array():
    params = _params()
    first, again, other = generate_terrain(params, 1), generate_terrain(params, 1), generate_terrain(params, 2)
    assert torch.equal(first.heights, again.heights) and torch.equal(first.tile_origins, again.tile_origins)
    assert not torch.equal(first.heights, other.heights)
    assert first.heights.dtype == torch.float32
    units = first.heights / VS
    assert torch.allclose(units, units.round(), atol=1e-3)  # whole vertical units


def test_legged_gym_layout_and_difficulties():
    params = TerrainParams(type="rough")
    names = [TILE_TYPES[code] for code in column_types(params)]
    assert names == (["smooth_slope_up", "smooth_slope_down"] + ["rough_slope"] * 2 + ["stairs_up"] * 7
                     + ["stairs_down"] * 5 + ["discrete_obstacles"] * 4)
    assert row_difficulties(params) == pytest.approx([i / 10 for i in range(10)])
    terrain = generate_terrain(params, 0)  # its time: benchmarks/go2_toy_env.py (terrain_generation_s)
    assert tuple(terrain.heights.shape) == (1300, 2100) and terrain.border == 250
    assert terrain.tile_types.tolist() == column_types(params)
    # tile (i, j) is centred at ((i + 0.5) 8, (j + 0.5) 8) and the border is flat
    assert terrain.tile_origins[3, 7, :2].tolist() == pytest.approx([28.0, 60.0])
    assert float(terrain.heights[:250].abs().max()) == 0.0 and float(terrain.heights[:, -250:].abs().max()) == 0.0


@pytest.mark.parametrize("name, sign", [("stairs_down", 1), ("stairs_up", -1)])
def test_stair_steps_are_0p05_plus_0p18_d_high_and_0p3_m_deep(name, sign):
    params = _params()
    terrain = generate_terrain(params, 0)
    col = _column_of(params, name)
    for row, d in enumerate(row_difficulties(params)):
        line = _tile(terrain, params, row, col)[:, 40]  # along x through the tile centre
        steps = torch.diff(line[:41])  # rim to centre
        risers = steps[steps.abs() > 1e-6]
        expected = math.floor((0.05 + 0.18 * d) / VS + 1e-6) * VS
        assert len(risers) == 9  # 8 m tile, 0.3 m treads, 3 m platform: legged_gym's 9 steps
        assert torch.allclose(risers, torch.full_like(risers, sign * expected), atol=1e-6)
        rise_at = (steps.abs() > 1e-6).nonzero().flatten().tolist()
        assert all(b - a == 3 for a, b in zip(rise_at, rise_at[1:]))  # 3 cells = 0.30 m treads
        assert float(terrain.tile_origins[row, col, 2]) == pytest.approx(sign * 9 * expected, abs=1e-6)


@pytest.mark.parametrize("name, sign", [("smooth_slope_down", 1), ("smooth_slope_up", -1)])
def test_slope_faces_have_gradient_0p4_d(name, sign):
    params = _params()
    terrain = generate_terrain(params, 0)
    col = _column_of(params, name)
    for row, d in enumerate(row_difficulties(params)):
        tile = _tile(terrain, params, row, col)
        for y in (40, 30):  # the centre line and a line off it: planar faces
            face = tile[0:24, y]  # rim to the platform edge (cell 25)
            gradient = (face[-1] - face[0]) / (23 * 0.1)
            assert float(gradient) == pytest.approx(sign * 0.4 * d, abs=VS / 2.3)
            per_cell = torch.diff(face) / 0.1
            assert float((per_cell - sign * 0.4 * d).abs().max()) <= VS / 0.1 + 1e-5
        platform = tile[25:55, 25:55]
        assert float(platform.max() - platform.min()) == 0.0
        assert float(platform[0, 0]) == pytest.approx(sign * 0.4 * d * 2.5, abs=VS)


def test_rough_slope_is_the_slope_plus_bounded_noise():
    params = _params(rough_noise=0.05)
    terrain = generate_terrain(params, 0)
    rough = _tile(terrain, params, 2, _column_of(params, "rough_slope"))
    smooth = _tile(terrain, params, 2, _column_of(params, "smooth_slope_down"))
    noise = rough - smooth
    assert float(noise.abs().max()) <= 0.05 + 1e-6 and float(noise.std()) > 0.01


def test_discrete_obstacles_heights_and_platform():
    params = _params()
    terrain = generate_terrain(params, 0)
    col = _column_of(params, "discrete_obstacles")
    for row, d in enumerate(row_difficulties(params)):
        tile = _tile(terrain, params, row, col)
        h = math.floor((0.05 + 0.2 * d) / VS + 1e-6)
        allowed = {0, -h, (-h) // 2, h // 2, h}
        assert set(torch.round(tile / VS).long().unique().tolist()) <= allowed
        assert len(set(torch.round(tile / VS).long().unique().tolist())) >= 3
        assert float(tile[25:55, 25:55].abs().max()) == 0.0  # 3 m platform


def test_flat_tiles_and_flat_type_read_zero():
    params = _params()
    terrain = generate_terrain(params, 0)
    assert float(_tile(terrain, params, 3, _column_of(params, "flat")).abs().max()) == 0.0
    flat = generate_terrain(TerrainParams(type="flat"), 0)
    xy = torch.tensor([[-100.0, 3.0], [40.0, 81.0]])
    assert ground_height(flat, xy[:, 0], xy[:, 1]).tolist() == [0.0, 0.0]
    assert flat.tile_origins.shape == (10, 20, 3) and float(flat.tile_origins[..., 2].abs().max()) == 0.0


def test_spawn_z_is_the_highest_top_in_the_central_2_m():
    params = _params()
    terrain = generate_terrain(params, 5)
    for row in range(params.num_rows):
        for col in range(params.num_cols):
            tile = _tile(terrain, params, row, col)
            assert float(terrain.tile_origins[row, col, 2]) == float(tile[30:50, 30:50].max())
