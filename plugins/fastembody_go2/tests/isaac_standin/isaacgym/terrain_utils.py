"""Stand-in of ``isaacgym.terrain_utils``: SubTerrain and the sub-terrain functions legged_gym's Terrain calls.

Same signatures, int16 height units in ``height_field_raw[x, y]``, randomness from NumPy's global state (which
legged_gym's ``set_seed`` seeds). The shapes are simplified where tests do not look (the slope is a plain pyramid,
stepping stones are a flat platform in a -10 m pit), and ``convert_heightfield_to_trimesh`` returns no vertices
(there is no PhysX to collide with).
"""
import numpy as np


class SubTerrain:
    def __init__(self, terrain_name="terrain", width=256, length=256, vertical_scale=1.0,  # noqa: ANN001
                 horizontal_scale=1.0):
        self.terrain_name = terrain_name
        self.vertical_scale = vertical_scale
        self.horizontal_scale = horizontal_scale
        self.width = width
        self.length = length
        self.height_field_raw = np.zeros((self.width, self.length), dtype=np.int16)


def _edge_distance(terrain):  # noqa: ANN001, ANN202
    x = np.arange(terrain.width)
    y = np.arange(terrain.length)
    dx = np.minimum(x, terrain.width - 1 - x)
    dy = np.minimum(y, terrain.length - 1 - y)
    return np.minimum(dx[:, None], dy[None, :])


def pyramid_sloped_terrain(terrain, slope=1, platform_size=1.0):  # noqa: ANN001, ANN201
    units_per_cell = slope * terrain.horizontal_scale / terrain.vertical_scale
    top = (min(terrain.width, terrain.length) - int(platform_size / terrain.horizontal_scale)) / 2
    heights = units_per_cell * np.minimum(_edge_distance(terrain), top)
    terrain.height_field_raw += heights.astype(np.int16)
    return terrain


def random_uniform_terrain(terrain, min_height, max_height, step=1, downsampled_scale=None):  # noqa: ANN001, ANN201
    if downsampled_scale is None:
        downsampled_scale = terrain.horizontal_scale
    low, high, step = (int(v / terrain.vertical_scale) for v in (min_height, max_height, step))
    pitch = max(1, int(downsampled_scale / terrain.horizontal_scale))
    coarse = np.random.choice(np.arange(low, high + step, step),
                              (terrain.width // pitch + 1, terrain.length // pitch + 1))
    fine = np.repeat(np.repeat(coarse, pitch, axis=0), pitch, axis=1)[:terrain.width, :terrain.length]
    terrain.height_field_raw += fine.astype(np.int16)
    return terrain


def pyramid_stairs_terrain(terrain, step_width, step_height, platform_size=1.0):  # noqa: ANN001, ANN201
    tread = int(step_width / terrain.horizontal_scale)
    step = int(step_height / terrain.vertical_scale)
    platform = int(platform_size / terrain.horizontal_scale)
    height, start_x, stop_x, start_y, stop_y = 0, 0, terrain.width, 0, terrain.length
    while (stop_x - start_x) > platform and (stop_y - start_y) > platform:
        start_x, stop_x, start_y, stop_y = start_x + tread, stop_x - tread, start_y + tread, stop_y - tread
        height += step
        terrain.height_field_raw[start_x:stop_x, start_y:stop_y] = height
    return terrain


def discrete_obstacles_terrain(terrain, max_height, min_size, max_size, num_rects,  # noqa: ANN001, ANN201
                               platform_size=1.0):
    hs = terrain.horizontal_scale
    height = int(max_height / terrain.vertical_scale)
    sizes = range(int(min_size / hs), int(max_size / hs), 4)
    for _ in range(num_rects):
        w, l = np.random.choice(sizes), np.random.choice(sizes)
        x0 = np.random.choice(range(0, terrain.width - w, 4))
        y0 = np.random.choice(range(0, terrain.length - l, 4))
        terrain.height_field_raw[x0:x0 + w, y0:y0 + l] = np.random.choice([-height, -height // 2, height // 2, height])
    _flat_platform(terrain, platform_size)
    return terrain


def stepping_stones_terrain(terrain, stone_size, stone_distance, max_height,  # noqa: ANN001, ANN201
                            platform_size=1.0, depth=-10):
    terrain.height_field_raw[:, :] = int(depth / terrain.vertical_scale)
    _flat_platform(terrain, platform_size)
    return terrain


def _flat_platform(terrain, platform_size):  # noqa: ANN001, ANN202
    half = int(platform_size / terrain.horizontal_scale) // 2
    cx, cy = terrain.width // 2, terrain.length // 2
    terrain.height_field_raw[cx - half:cx + half, cy - half:cy + half] = 0


def convert_heightfield_to_trimesh(height_field_raw, horizontal_scale, vertical_scale,  # noqa: ANN001, ANN201
                                   slope_threshold=None):
    """Stand-in: no mesh (nothing collides with it); the real one returns (vertices [N, 3], triangles [M, 3])."""
    return np.zeros((0, 3), dtype=np.float32), np.zeros((0, 3), dtype=np.uint32)
