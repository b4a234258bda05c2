"""The world frame of the height field and the surface model: cell heights, planar slopes below the slope threshold,
vertical risers above it, wall and nosing contacts, normals."""
import math

import pytest
import torch

from fastembody_go2.terrain import (Terrain, TerrainParams, cell_index, column_contacts, column_top,
                                    generate_terrain, ground_height, ground_normal, ground_surface)

HS = 0.1


def _terrain(heights, border=1, slope_threshold=0.75):
    return Terrain(heights=heights.float(), horizontal_scale=HS, vertical_scale=0.005, border=border,
                   tile_length=1.0, tile_width=1.0, tile_origins=torch.zeros(1, 1, 3),
                   tile_types=torch.zeros(1, dtype=torch.int64), tile_difficulty=torch.zeros(1),
                   slope_threshold=slope_threshold)


def _step(rise=0.1, at=5, slope_threshold=0.75):
    """Flat 0 for cells i < at, ``rise`` beyond: a riser along y at world x = (at - border) * hs = 0.4."""
    heights = torch.zeros(10, 6)
    heights[at:] = rise
    return _terrain(heights, slope_threshold=slope_threshold)


def test_cell_i_j_covers_its_world_square_and_off_map_reads_the_edge():
    heights = torch.arange(12, dtype=torch.float32).reshape(4, 3)
    terrain = _terrain(heights, border=1)
    assert terrain.corner == pytest.approx(-0.1) and terrain.cell_centre(0, 0) == pytest.approx((-0.05, -0.05))
    x = torch.tensor([-0.099, -0.001, 0.001, 0.199, 0.201, 5.0, -5.0])
    y = torch.tensor([-0.05, -0.05, 0.05, 0.15, 0.15, 0.15, 0.15])
    i, j = cell_index(terrain, x, y)
    assert i.tolist() == [0, 0, 1, 2, 3, 3, 0] and j.tolist() == [0, 0, 1, 2, 2, 2, 2]
    assert ground_height(terrain, x, y).tolist() == heights[i, j].tolist()
    assert column_top is ground_height
    assert ground_height(terrain, x.reshape(7, 1), y.reshape(7, 1)).shape == (7, 1)


def test_a_sphere_resting_on_a_tread_has_one_upward_contact():
    terrain = _step()
    centre = torch.tensor([[0.2, 0.2, 0.018], [0.35, 0.2, 0.018], [0.45, 0.2, 0.118]])  # mid-tread, near riser, on top
    depth, normal = column_contacts(terrain, centre, radius=0.02)
    assert depth.shape == (3, 5) and normal.shape == (3, 5, 3)
    assert depth[:, 0].tolist() == pytest.approx([0.002, 0.002, 0.002], abs=1e-6)
    assert float(depth[:, 1:].abs().max()) == 0.0  # the lower cell on the top step is no wall
    assert normal[:, 0].tolist() == [[0.0, 0.0, 1.0]] * 3


def test_a_foot_pushed_into_a_riser_meets_a_vertical_wall():
    terrain = _step()
    centre = torch.tensor([[0.385, 0.2, 0.05]])  # 1.5 cm before the riser at x = 0.4, half way up it
    depth, normal = column_contacts(terrain, centre, radius=0.02)
    assert float(depth[0, 1]) == pytest.approx(0.005, abs=1e-6)  # +x neighbour
    assert normal[0, 1].tolist() == pytest.approx([-1.0, 0.0, 0.0])
    assert float(depth[0, 0]) == 0.0  # 5 cm above its own tread: no floor contact
    # the same foot in y: a riser between columns j < 3 and j >= 3
    heights = torch.zeros(6, 10)
    heights[:, 3:] = 0.1
    depth, normal = column_contacts(_terrain(heights), torch.tensor([[0.2, 0.19, 0.05]]), radius=0.02)
    assert float(depth[0, 3]) == pytest.approx(0.01, abs=1e-6) and normal[0, 3].tolist() == pytest.approx([0, -1, 0])


def test_a_foot_above_the_nosing_is_pushed_off_the_edge():
    terrain = _step()
    centre = torch.tensor([[0.39, 0.2, 0.11]])  # 1 cm before and 1 cm above the nosing
    depth, normal = column_contacts(terrain, centre, radius=0.02)
    assert float(depth[0, 1]) == pytest.approx(0.02 - math.sqrt(2) * 0.01, abs=1e-6)
    assert normal[0, 1].tolist() == pytest.approx([-math.sqrt(0.5), 0.0, math.sqrt(0.5)], abs=1e-6)


def test_ground_normal_on_a_slope_face():
    params = TerrainParams(type="rough", num_rows=3, num_cols=1, border_size=1.0,
                           proportions={"smooth_slope_down": 1.0})
    terrain = generate_terrain(params, 0)
    slope = 0.4 * 2 / 3
    x = torch.tensor([8 * 2 + 1.05, 8 * 2 + 6.95])  # row 2, on the rising and on the falling face
    y = torch.tensor([4.05, 4.05])
    normal = ground_normal(terrain, x, y)
    expected = torch.tensor([[-slope, 0.0, 1.0], [slope, 0.0, 1.0]])
    expected = expected / expected.norm(dim=-1, keepdim=True)
    assert torch.allclose(normal, expected, atol=0.03)  # the plane between cell centres (heights rounded to 5 mm)
    flat = ground_normal(terrain, torch.tensor([-0.5]), torch.tensor([-0.5]))
    assert flat.tolist() == [[0.0, 0.0, 1.0]]


def test_terrain_to_device_keeps_everything():
    terrain = _step()
    moved = terrain.to("cpu")
    assert torch.equal(moved.heights, terrain.heights) and moved.border == terrain.border
    assert moved.num_rows == 1 and moved.num_cols == 1


def test_a_step_above_the_slope_threshold_is_a_riser_and_one_below_it_a_ramp():
    x = torch.tensor([0.31, 0.36, 0.39, 0.41, 0.44, 0.49])  # cell 4's centre is x = 0.35, cell 5's 0.45
    y = torch.full_like(x, 0.25)
    riser = ground_surface(_step(rise=0.08), x, y)  # 8 cm > 7.5 cm: flat treads up to the riser line at 0.4
    assert riser[0].tolist() == pytest.approx([0, 0, 0, 0.08, 0.08, 0.08], abs=1e-6)
    assert riser[1].abs().max() == 0 and riser[2].abs().max() == 0
    z, dz_dx, dz_dy = ground_surface(_step(rise=0.07), x, y)  # 7 cm: a planar ramp between the two centres
    assert z.tolist() == pytest.approx([0, 0.007, 0.028, 0.042, 0.063, 0.07], abs=1e-6)
    assert dz_dx.tolist() == pytest.approx([0, 0.7, 0.7, 0.7, 0.7, 0], abs=1e-5)
    assert dz_dy.abs().max() < 1e-6
    columns = ground_surface(_step(rise=0.07, slope_threshold=0.0), x, y)[0]  # threshold 0: columns everywhere
    assert columns.tolist() == pytest.approx([0, 0, 0, 0.07, 0.07, 0.07], abs=1e-6)
    # risers only above the threshold: a foot pushed into the 7 cm ramp gets no wall contact
    centre = torch.tensor([[0.39, 0.25, 0.03]])
    assert float(column_contacts(_step(rise=0.07), centre, 0.02)[0][0, 1:].max()) == 0.0
    assert float(column_contacts(_step(rise=0.08), centre, 0.02)[0][0, 1]) > 0.0


def test_a_sphere_on_a_ramp_touches_it_along_its_normal():
    terrain = _step(rise=0.07)
    z_surface = 0.042  # at x = 0.41 (slope 0.7)
    n_z = 1 / math.sqrt(1 + 0.49)
    centre = torch.tensor([[0.41, 0.25, z_surface + 0.02 / n_z - 0.001 / n_z]])  # 1 mm deep along the normal
    depth, normal = column_contacts(terrain, centre, radius=0.02)
    assert float(depth[0, 0]) == pytest.approx(0.001, abs=1e-5)
    assert normal[0, 0].tolist() == pytest.approx([-0.7 * n_z, 0.0, n_z], abs=1e-5)
