"""The fixed evaluation courses as data (torch-free, so env params can name them): names, features, success rule.

Geometry and the success rule are documented in :mod:`.courses`, which builds them as height fields.
"""
from typing import Dict, Literal, NamedTuple

COURSE_COMMAND_VX = 0.5
"""Forward velocity command on every course [m/s] (no lateral or yaw command)."""
COURSE_SUCCESS_DISTANCE_M = 4.0
"""Distance along +x from the spawn point that counts as crossing [m]."""
COURSE_TIME_LIMIT_S = 20.0
"""Time allowed to cross [s]."""
COURSE_LENGTH_M = 10.0
"""Strip length along x [m]."""
COURSE_WIDTH_M = 4.0
"""Strip width along y [m]."""
COURSE_BORDER_M = 3.0
"""Margin around the strip [m]."""
COURSE_START_M = 1.0
"""Spawn x within the strip [m]."""
FEATURE_START_M = 1.5
"""Where the stairs / slope / obstacles begin [m] (the first riser is 0.5 m ahead of the spawn point)."""
FEATURE_END_M = 7.5
"""Where they end [m]; beyond the success line (COURSE_START_M + 4 m = 5 m)."""
STAIR_TREAD_M = 0.3
"""Tread depth of the course stairs [m] (legged_gym's 0.31 m truncated to 0.1 m cells)."""
COURSE_SEED = 20_240_612
"""Seed of the courses' random parts."""


class CourseSpec(NamedTuple):
    """What one course holds."""

    feature: str
    """``stairs``, ``slope``, ``rough_slope`` or ``obstacles``."""
    size: float
    """Step or obstacle height [m], or slope angle [deg]."""
    direction: int
    """+1 up, -1 down (obstacles: +1)."""
    noise: float = 0.0
    """Rough slope noise amplitude [m]."""


COURSE_SPECS: Dict[str, CourseSpec] = {
    "stairs_up_10cm": CourseSpec("stairs", 0.10, 1),
    "stairs_down_10cm": CourseSpec("stairs", 0.10, -1),
    "stairs_up_15cm": CourseSpec("stairs", 0.15, 1),
    "stairs_down_15cm": CourseSpec("stairs", 0.15, -1),
    "slope_up_20deg": CourseSpec("slope", 20.0, 1),
    "slope_down_20deg": CourseSpec("slope", 20.0, -1),
    "rough_slope_15deg": CourseSpec("rough_slope", 15.0, 1, noise=0.05),
    "discrete_obstacles_10cm": CourseSpec("obstacles", 0.10, 1),
}
COURSES = tuple(COURSE_SPECS)
"""Course names, in report order."""

CourseName = Literal[COURSES]  # type: ignore[valid-type]
"""The type of a Go2 env's ``course`` param: one of COURSES (validated like any Literal)."""
