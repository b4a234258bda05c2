"""The flat-topped ground as MuJoCo boxes over a lowered hfield: the union is the shared walking surface, risers
are vertical, a foot on a tread touches a box only, and stairs merge into one box per step."""
import numpy as np
import pytest
import torch

from fastembody_go2.terrain import TerrainParams, build_course, generate_terrain, ground_surface, hfield_spec
from fastembody_go2.terrain.mujoco_boxes import HFIELD_CLEARANCE_M, box_ceiling, flat_top_cells, ground_boxes
from fastembody_go2.terrain.mujoco_hfield import hfield_height, hfield_xml, write_hfield

mujoco = pytest.importorskip("mujoco")


def _model(terrain, upsample=1, body=""):
    spec = hfield_spec(terrain, upsample=upsample, ceiling=box_ceiling(terrain))
    boxes = ground_boxes(terrain)
    asset, geom = hfield_xml(spec)
    box_xml = "".join(f'<geom name="box{k}" type="box" pos="{c[0]} {c[1]} {c[2]}" size="{h[0]} {h[1]} {h[2]}"/>'
                      for k, (c, h) in enumerate(zip(boxes.centres, boxes.half_sizes)))
    model = mujoco.MjModel.from_xml_string(
        f"<mujoco><asset>{asset}</asset><worldbody>{geom}{box_xml}{body}</worldbody></mujoco>")
    write_hfield(model, spec)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    return model, data, spec, boxes


def _rays(model, data, x, y, top=10.0):
    geom = np.zeros(1, np.int32)
    down = np.array([0.0, 0.0, -1.0])
    z, hit = [], []
    for a, b in zip(x, y):
        z.append(top - mujoco.mj_ray(model, data, np.array([a, b, top]), down, None, 1, -1, geom))
        hit.append(int(geom[0]))
    return np.array(z), np.array(hit)


@pytest.fixture(scope="module")
def mixed():
    params = TerrainParams(type="rough", num_rows=2, num_cols=3, tile_length=4.0, tile_width=4.0, border_size=1.0,
                           difficulty_min=0.5, proportions={"stairs_up": 1, "rough_slope": 1, "discrete_obstacles": 1})
    return generate_terrain(params, 3)


def _cells(terrain, x, y):
    hs = terrain.horizontal_scale
    return ((x - terrain.corner) // hs).astype(int), ((y - terrain.corner) // hs).astype(int)


def test_boxes_and_hfield_together_are_the_walking_surface(mixed):
    model, data, spec, boxes = _model(mixed)
    flat = flat_top_cells(mixed).numpy()
    assert 0.2 < flat.mean() < 0.95  # treads, obstacles and flat ground boxed; the rough slope is not
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.9, 7.9, 4000)
    y = rng.uniform(-0.9, 11.9, 4000)
    i, j = _cells(mixed, x, y)
    z, hit = _rays(model, data, x, y)
    torch_z = ground_surface(mixed, torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32))[0]
    padded = np.pad(flat, 1, mode="edge")
    windows = [padded[di:di + flat.shape[0], dj:dj + flat.shape[1]] for di in (0, 1, 2) for dj in (0, 1, 2)]
    all_boxed, any_boxed = np.logical_and.reduce(windows), np.logical_or.reduce(windows)
    # amid flat-topped cells the ground is the box tops: each cell's height, all over its square (next to a cell
    # that is not flat-topped the hfield's own ramp, half a sample wide, may show)
    boxed = all_boxed[i, j]
    assert boxed.sum() > 1000 and (hit[boxed] != model.geom("terrain").id).all()
    assert np.abs(z[boxed] - torch_z.numpy()[boxed]).max() < 1e-5
    # a cell with no flat-topped cell around it is hfield only: MuJoCo's triangles between its samples
    free = ~any_boxed[i, j]
    assert free.sum() > 300 and (hit[free] == model.geom("terrain").id).all()
    assert np.abs(z[free] - hfield_height(spec, x[free], y[free])).max() < 1e-5


def test_the_hfield_stays_below_every_box(mixed):
    ceiling = box_ceiling(mixed).numpy()
    spec = hfield_spec(mixed, upsample=2, ceiling=box_ceiling(mixed))
    grid = spec.pos[2] + spec.size[2] * spec.data.reshape(spec.nrow, spec.ncol).astype(np.float64)  # [y, x]
    under = np.repeat(np.repeat(ceiling.T, 2, 0), 2, 1)  # per sample
    assert (grid <= under + 1e-5).all()
    heights = mixed.heights.numpy()
    boxed = flat_top_cells(mixed).numpy()
    assert (ceiling[boxed] <= heights[boxed] - HFIELD_CLEARANCE_M + 1e-6).all() and np.isinf(ceiling[~boxed]).all()


def test_risers_are_vertical_and_stairs_are_one_box_per_step():
    terrain = build_course("stairs_up_15cm")
    model, data, _, boxes = _model(terrain)
    assert len(boxes.centres) == len(torch.unique(terrain.heights))  # each step's treads merge into one box
    riser = 1.5  # first riser of the course, from 0 to 0.15 m
    z, _ = _rays(model, data, np.array([riser - 0.05, riser - 1e-4, riser + 1e-4, riser + 0.15]), np.full(4, 2.0))
    assert z == pytest.approx([0.0, 0.0, 0.15, 0.15], abs=1e-6)


def test_a_foot_on_a_tread_touches_a_box_only():
    terrain = build_course("stairs_up_10cm")
    radius, sink, x, y = 0.022, 0.002, 2.05, 2.05  # mid-tread of the 2nd step (0.2 m)
    body = (f'<body pos="{x} {y} {0.2 + radius - sink}"><freejoint/>'
            f'<geom type="sphere" size="{radius}" mass="0.1"/></body>')
    model, data, _, _ = _model(terrain, body=body)
    hfield = model.geom("terrain").id
    touched = {int(g) for k in range(data.ncon) for g in (data.contact[k].geom1, data.contact[k].geom2)}
    assert data.ncon >= 1 and hfield not in touched
    assert min(data.contact[k].dist for k in range(data.ncon)) == pytest.approx(-sink, abs=1e-6)


def test_ground_without_flat_tops_has_no_boxes():
    terrain = build_course("slope_up_20deg")
    flat = flat_top_cells(terrain)
    slope = flat[50:90].any()  # x in [2, 6) m: the slope, no cell flat-topped
    assert not bool(slope) and len(ground_boxes(terrain).centres) >= 1  # the flat ends are boxes
