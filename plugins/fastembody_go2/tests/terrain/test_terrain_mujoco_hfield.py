"""MuJoCo's hfield equals the shared walking surface: rays at its samples and on planar slopes, the triangle rule
elsewhere, risers s/2 wide."""
import numpy as np
import pytest
import torch

from fastembody_go2.terrain import (TILE_TYPES, TerrainParams, build_course, column_contacts, generate_terrain,
                                    ground_surface, hfield_height, hfield_spec, hfield_xml, write_hfield)

mujoco = pytest.importorskip("mujoco")


def _model(spec, body: str = ""):
    asset, geom = hfield_xml(spec)
    model = mujoco.MjModel.from_xml_string(
        f"<mujoco><asset>{asset}</asset><worldbody>{geom}{body}</worldbody></mujoco>")
    write_hfield(model, spec)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    return model, data


def _ray_heights(model, data, x, y, top=10.0):
    geom_id = np.zeros(1, np.int32)
    down = np.array([0.0, 0.0, -1.0])
    return np.array([top - mujoco.mj_ray(model, data, np.array([a, b, top]), down, None, 1, -1, geom_id)
                     for a, b in zip(x, y)])


@pytest.fixture(scope="module")
def mixed():
    params = TerrainParams(type="rough", num_rows=2, num_cols=3, tile_length=4.0, tile_width=4.0, border_size=1.0,
                           difficulty_min=0.5, proportions={"stairs_up": 1, "rough_slope": 1, "discrete_obstacles": 1})
    return generate_terrain(params, 3)


@pytest.mark.parametrize("upsample", [1, 2, 4])
def test_mujoco_surface_equals_the_walking_surface_at_its_samples(mixed, upsample):
    spec = hfield_spec(mixed, upsample=upsample)
    assert (spec.ncol, spec.nrow) == (mixed.heights.shape[0] * upsample, mixed.heights.shape[1] * upsample)
    model, data = _model(spec)
    rng = np.random.default_rng(upsample)
    # not the outermost samples: there a ray may miss the field's edge
    i = rng.integers(1, spec.ncol - 1, 400)
    j = rng.integers(1, spec.nrow - 1, 400)
    step = mixed.horizontal_scale / upsample
    x = mixed.corner + (i + 0.5) * step
    y = mixed.corner + (j + 0.5) * step
    torch_z = ground_surface(mixed, torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32))[0]
    # MuJoCo's own triangle rule (hfield_height equals MuJoCo's rays at random points, the next test): rays aimed
    # exactly at vertices can slip between triangles next to a deep pit, so they are not used here
    assert np.abs(hfield_height(spec, x, y) - torch_z.numpy()).max() < 1e-5
    flat = np.abs(hfield_height(spec, x + 0.3 * step, y + 0.2 * step) - torch_z.numpy()) < 1e-7  # level around
    assert flat.sum() > 20
    assert np.abs(_ray_heights(model, data, (x + 0.3 * step)[flat], (y + 0.2 * step)[flat])
                  - torch_z.numpy()[flat]).max() < 1e-5


@pytest.mark.parametrize("course", ["slope_up_20deg", "slope_down_20deg"])
def test_a_20_degree_slope_is_a_plane_in_mujoco_and_in_the_torch_surface(course):
    terrain = build_course(course)
    spec = hfield_spec(terrain, upsample=4, keep_border=0.5)
    model, data = _model(spec)
    x = np.random.default_rng(0).uniform(1.7, 7.3, 300)  # on the slope, away from its foot and top
    y = np.random.default_rng(1).uniform(0.5, 3.5, 300)
    mujoco_z = _ray_heights(model, data, x, y)
    torch_z, dz_dx, dz_dy = ground_surface(terrain, torch.tensor(x, dtype=torch.float32),
                                           torch.tensor(y, dtype=torch.float32))
    assert np.abs(mujoco_z - torch_z.numpy()).max() < 1e-3  # the hfield cuts the 5 mm-rounding creases
    sign = 1.0 if course.endswith("up_20deg") else -1.0
    # a plane: the fitted gradient is tan 20 deg, and no point is off the plane by more than the height rounding
    fit = np.polyfit(x, mujoco_z, 1)
    assert fit[0] == pytest.approx(sign * np.tan(np.radians(20.0)), abs=0.005)
    assert np.abs(np.polyval(fit, x) - mujoco_z).max() < 0.005
    assert np.abs(dz_dx.numpy() - sign * np.tan(np.radians(20.0))).max() < 0.05
    assert np.abs(dz_dy.numpy()).max() < 1e-6


def test_hfield_height_is_mujocos_triangle_rule_everywhere(mixed):
    spec = hfield_spec(mixed, upsample=2)
    model, data = _model(spec)
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.95, 8.95, 1000)
    y = rng.uniform(-0.95, 12.95, 1000)
    assert np.abs(_ray_heights(model, data, x, y) - hfield_height(spec, x, y)).max() < 1e-6


def test_risers_ramp_only_within_half_a_sample_of_the_riser_line():
    terrain = build_course("stairs_up_15cm")
    assert TILE_TYPES[int(terrain.tile_types[0])] == "stairs_up"
    spec = hfield_spec(terrain, upsample=4, keep_border=0.5)
    model, data = _model(spec)
    s = terrain.horizontal_scale / 4
    riser = 1.5  # first riser of the course, from 0 to 0.15 m
    x = np.array([riser - 0.05, riser - s / 2, riser, riser + s / 2, riser + 0.05])
    z = _ray_heights(model, data, x, np.full(5, 2.0))
    assert z == pytest.approx([0.0, 0.0, 0.075, 0.15, 0.15], abs=1e-5)
    tread = np.linspace(riser + s / 2, riser + 0.3 - s / 2, 9)  # the whole tread is flat in MuJoCo too
    assert _ray_heights(model, data, tread, np.full(9, 2.0)) == pytest.approx(np.full(9, 0.15), abs=1e-5)


def test_a_sphere_on_a_tread_touches_mujoco_as_deep_as_the_columns():
    terrain = build_course("stairs_up_10cm")
    spec = hfield_spec(terrain, upsample=4, keep_border=0.5)
    radius, sink, x, y = 0.022, 0.002, 2.05, 2.05  # mid-tread of the 2nd step (0.2 m)
    z = 0.2 + radius - sink
    body = (f'<body pos="{x} {y} {z}"><freejoint/>'
            f'<geom type="sphere" size="{radius}" mass="0.1"/></body>')
    model, data = _model(spec, body)
    dists = [data.contact[k].dist for k in range(data.ncon)]
    assert data.ncon >= 1 and min(dists) == pytest.approx(-sink, abs=2e-4)
    depth, _ = column_contacts(terrain, torch.tensor([[x, y, z]]), radius)
    assert float(depth[0].max()) == pytest.approx(sink, abs=1e-6)


def test_cropping_the_border_keeps_the_tiles_and_checks_the_model(mixed):
    full, cropped = hfield_spec(mixed, upsample=1), hfield_spec(mixed, upsample=1, keep_border=0.3)
    assert (cropped.ncol, cropped.nrow) == (full.ncol - 14, full.nrow - 14)
    x = np.array([0.05, 4.55, 7.95])
    y = np.array([0.05, 6.15, 11.95])
    assert hfield_height(cropped, x, y) == pytest.approx(hfield_height(full, x, y), abs=1e-6)
    model, _ = _model(full)
    with pytest.raises(ValueError, match="hfield 'terrain' is"):
        write_hfield(model, cropped)
