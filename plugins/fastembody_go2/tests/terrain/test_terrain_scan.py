"""The height scan equals the analytic heights of a known course, at any yaw; flat ground is allowed."""
import math

import pytest
import torch

from fastembody_go2.terrain import (TerrainParams, build_course, generate_terrain, height_scan, mean_ground_height,
                                    scan_points)


def _stairs_10cm(x: torch.Tensor) -> torch.Tensor:
    """The stairs_up_10cm course: the first riser at x = 1.5 m, 0.3 m treads, 0.1 m rises, top from x = 7.5 m."""
    steps = torch.floor((x.clamp(max=7.45) - 1.5) / 0.3) + 1
    return 0.1 * steps.clamp(min=0)


def test_points_are_legged_gyms_187_x_major():
    points = scan_points(TerrainParams())
    assert points.shape == (187, 2)
    assert points[0].tolist() == pytest.approx([-0.8, -0.5])
    assert points[1].tolist() == pytest.approx([-0.8, -0.4])
    assert points[11].tolist() == pytest.approx([-0.7, -0.5])
    assert points[93].tolist() == pytest.approx([0.0, 0.0], abs=1e-7)


@pytest.mark.parametrize("yaw", [0.0, math.pi / 2, math.pi, -math.pi / 2])
def test_scan_on_the_10cm_stairs_equals_the_analytic_heights(yaw):
    terrain = build_course("stairs_up_10cm")
    params = TerrainParams()
    points = scan_points(params)
    base = torch.tensor([[2.05, 2.05, 0.7], [3.55, 1.95, 0.9]])  # cell centres, so points fall on cell centres
    yaws = torch.full((2,), yaw)
    scan = height_scan(terrain, base, yaws, points, offset=params.scan_offset, clip=params.scan_clip)
    assert scan.shape == (2, 187)
    c, s = round(math.cos(yaw)), round(math.sin(yaw))
    world_x = base[:, :1] + c * points[None, :, 0] - s * points[None, :, 1]
    expected = (base[:, 2:3] - 0.5 - _stairs_10cm(world_x)).clamp(-1.0, 1.0)
    assert torch.allclose(scan, expected, atol=1e-5)
    if yaw == math.pi / 2:  # facing +y: the scan's lateral axis runs up the stairs (left = -x)
        row = scan[0].reshape(17, 11)
        assert torch.allclose(row[0], row[-1])  # no change along the heading
        # left (+y body = -x world) is downstairs: ground 0.3 m lower over the 1 m, so the scan reads 0.3 m more
        assert float(row[0, -1] - row[0, 0]) == pytest.approx(0.3, abs=1e-5)


def test_scan_is_clipped_and_mean_ground_height():
    terrain = build_course("stairs_up_10cm")
    points = scan_points(TerrainParams())
    base = torch.tensor([[5.05, 2.05, 5.0]])
    assert float(height_scan(terrain, base, torch.zeros(1), points).min()) == 1.0
    mean = mean_ground_height(terrain, base, torch.zeros(1), points)
    world_x = base[:, :1] + points[None, :, 0]
    assert float(mean) == pytest.approx(float(_stairs_10cm(world_x).mean()), abs=1e-5)


def test_scan_on_flat_ground_reads_base_height_minus_offset():
    terrain = generate_terrain(TerrainParams(type="flat"), 0)
    params = TerrainParams(type="flat", scan_offset=0.3)
    base = torch.tensor([[12.3, -4.0, 0.32], [0.0, 0.0, 2.0]])
    scan = height_scan(terrain, base, torch.tensor([0.3, 2.0]), scan_points(params), offset=params.scan_offset)
    assert torch.allclose(scan[0], torch.full((187,), 0.02), atol=1e-6)
    assert torch.allclose(scan[1], torch.ones(187))
