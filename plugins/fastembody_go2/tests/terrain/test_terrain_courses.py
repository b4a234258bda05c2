"""Evaluation courses: the stated step heights, slopes, noise and obstacles, measurable in the array."""
import math

import pytest
import torch

from fastembody_core import ConfigError

from fastembody_go2.terrain import (COURSE_COMMAND_VX, COURSE_SUCCESS_DISTANCE_M, COURSE_TIME_LIMIT_S, COURSES,
                                    TILE_TYPES, build_course, course_progress, ground_height)

VS = 0.005


def _profile(terrain, y=2.05):
    """Ground heights along x from the spawn point (x = 1.05 .. 9.95) at lateral ``y``."""
    x = torch.arange(1.05, 9.96, 0.1)
    return x, ground_height(terrain, x, torch.full_like(x, y))


def test_courses_and_success_rule():
    assert COURSES == ("stairs_up_10cm", "stairs_down_10cm", "stairs_up_15cm", "stairs_down_15cm", "slope_up_20deg",
                       "slope_down_20deg", "rough_slope_15deg", "discrete_obstacles_10cm")
    assert (COURSE_COMMAND_VX, COURSE_SUCCESS_DISTANCE_M, COURSE_TIME_LIMIT_S) == (0.5, 4.0, 20.0)
    for name in COURSES:
        terrain = build_course(name)
        assert terrain.num_rows == 1 and terrain.num_cols == 1
        assert terrain.tile_origins[0, 0].tolist() == pytest.approx([1.0, 2.0, 0.0])
        assert build_course(name).heights.equal(terrain.heights)  # fixed: same array every time
    progress = course_progress(build_course("slope_up_20deg"), torch.tensor([[5.0, 2.0, 1.0], [1.5, 2.0, 0.3]]))
    assert progress.tolist() == pytest.approx([4.0, 0.5])
    with pytest.raises(ConfigError, match="courses: unknown course 'stairs'"):
        build_course("stairs")


@pytest.mark.parametrize("name, rise", [("stairs_up_10cm", 0.10), ("stairs_down_10cm", -0.10),
                                        ("stairs_up_15cm", 0.15), ("stairs_down_15cm", -0.15)])
def test_stairs_courses(name, rise):
    terrain = build_course(name)
    assert TILE_TYPES[int(terrain.tile_types[0])] == ("stairs_up" if rise > 0 else "stairs_down")
    x, z = _profile(terrain)
    steps = torch.diff(z)
    at = (steps.abs() > 1e-6).nonzero().flatten()
    assert torch.allclose(steps[at], torch.full((len(at),), rise), atol=1e-6)
    assert x[at[0] + 1].item() == pytest.approx(1.55)  # first riser at x = 1.5, 0.5 m ahead of the spawn
    assert torch.diff(at).tolist() == [3] * (len(at) - 1)  # 0.3 m treads
    assert len(at) == 20 and float(z[-1]) == pytest.approx(20 * rise, abs=1e-5)
    _, side = _profile(terrain, y=-2.0)  # no drop at the strip's sides
    assert torch.equal(side, z)


@pytest.mark.parametrize("name, degrees", [("slope_up_20deg", 20.0), ("slope_down_20deg", -20.0)])
def test_slope_courses(name, degrees):
    terrain = build_course(name)
    x, z = _profile(terrain)
    on_face = (x > 1.5) & (x < 7.5)
    face_x, face_z = x[on_face], z[on_face]
    gradient = (face_z[-1] - face_z[0]) / (face_x[-1] - face_x[0])
    assert float(gradient) == pytest.approx(math.tan(math.radians(degrees)), abs=VS / 5.8)
    assert float((torch.diff(face_z) / 0.1 - math.tan(math.radians(degrees))).abs().max()) <= VS / 0.1 + 1e-4


def test_rough_slope_course_is_15deg_with_5cm_noise():
    terrain = build_course("rough_slope_15deg")
    clean = torch.tan(torch.tensor(math.radians(15.0)))
    x, z = _profile(terrain)
    noise = z - torch.round(clean * (x - 1.5).clamp(0.0, 6.0) / VS) * VS
    on_strip = (x > 1.5) & (x < 7.5)
    assert float(noise[on_strip].abs().max()) <= 0.05 + 1e-6 and float(noise[on_strip].std()) > 0.01
    assert float(noise[~on_strip].abs().max()) < 1e-5
    _, side = _profile(terrain, y=-1.0)  # off the strip: the clean slope
    assert float((side - (z - noise)).abs().max()) < 1e-5


def test_discrete_obstacles_course_is_10cm():
    terrain = build_course("discrete_obstacles_10cm")
    strip = terrain.heights[terrain.border + 15:terrain.border + 75, terrain.border:terrain.border + 40]
    levels = set(torch.round(strip / VS).long().unique().tolist())
    assert levels <= {0, -20, -10, 10, 20} and {-20, 20} & levels
    outside = terrain.heights.clone()
    outside[terrain.border + 15:terrain.border + 75, terrain.border:terrain.border + 40] = 0
    assert float(outside.abs().max()) == 0.0
