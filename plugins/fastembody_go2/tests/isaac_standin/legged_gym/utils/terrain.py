"""leggedrobotics/legged_gym's ``Terrain`` (``legged_gym/utils/terrain.py``): the grid of sub-terrains.

Reproduced: how ``terrain_proportions`` are read (running sums; the first smooth-slope half and the first stairs
bin negative, i.e. pits; bins 5.. are stepping stones, gap and pit, so a list of five whose sum is below 1 fails
with an IndexError), the curriculum layout (column j: choice j / num_cols + 0.001, row i: difficulty
i / num_rows), the random layout without the curriculum (uniform choice, difficulty in {0.5, 0.75, 0.9}), the
per-difficulty formulas, square sub-terrains of ``terrain_width`` (legged_gym passes the width as the length too),
the pixel sizes from ``int()``, the tile origins (centre, z = highest point of the central 2 m square) and NumPy's
global random state. The stand-in also records each tile's kind (``tile_kinds``, legged_gym's branch) and
difficulty (``tile_difficulties``) for the tests.
"""
import numpy as np

from isaacgym import terrain_utils


class Terrain:
    def __init__(self, cfg, num_robots) -> None:  # noqa: ANN001
        self.cfg = cfg
        self.num_robots = num_robots
        self.type = cfg.mesh_type
        if self.type in ["none", "plane"]:
            return
        self.env_length = cfg.terrain_length
        self.env_width = cfg.terrain_width
        self.proportions = [np.sum(cfg.terrain_proportions[:i + 1]) for i in range(len(cfg.terrain_proportions))]
        self.cfg.num_sub_terrains = cfg.num_rows * cfg.num_cols
        self.env_origins = np.zeros((cfg.num_rows, cfg.num_cols, 3))
        self.width_per_env_pixels = int(self.env_width / cfg.horizontal_scale)
        self.length_per_env_pixels = int(self.env_length / cfg.horizontal_scale)
        self.border = int(cfg.border_size / self.cfg.horizontal_scale)
        self.tot_cols = int(cfg.num_cols * self.width_per_env_pixels) + 2 * self.border
        self.tot_rows = int(cfg.num_rows * self.length_per_env_pixels) + 2 * self.border
        self.height_field_raw = np.zeros((self.tot_rows, self.tot_cols), dtype=np.int16)
        self.tile_kinds = [[None] * cfg.num_cols for _ in range(cfg.num_rows)]
        self.tile_difficulties = np.zeros((cfg.num_rows, cfg.num_cols))
        if cfg.curriculum:
            self.curiculum()
        elif cfg.selected:
            raise NotImplementedError("stand-in: legged_gym's selected_terrain is not reproduced")
        else:
            self.randomized_terrain()
        self.heightsamples = self.height_field_raw
        if self.type == "trimesh":
            self.vertices, self.triangles = terrain_utils.convert_heightfield_to_trimesh(
                self.height_field_raw, self.cfg.horizontal_scale, self.cfg.vertical_scale, self.cfg.slope_treshold)

    def randomized_terrain(self) -> None:
        for k in range(self.cfg.num_sub_terrains):
            (i, j) = np.unravel_index(k, (self.cfg.num_rows, self.cfg.num_cols))
            choice = np.random.uniform(0, 1)
            difficulty = np.random.choice([0.5, 0.75, 0.9])
            self._place(self.make_terrain(choice, difficulty), i, j, difficulty)

    def curiculum(self) -> None:  # (sic)
        for j in range(self.cfg.num_cols):
            for i in range(self.cfg.num_rows):
                difficulty = i / self.cfg.num_rows
                choice = j / self.cfg.num_cols + 0.001
                self._place(self.make_terrain(choice, difficulty), i, j, difficulty)

    def make_terrain(self, choice, difficulty):  # noqa: ANN001, ANN201
        terrain = terrain_utils.SubTerrain("terrain", width=self.width_per_env_pixels,
                                           length=self.width_per_env_pixels,
                                           vertical_scale=self.cfg.vertical_scale,
                                           horizontal_scale=self.cfg.horizontal_scale)
        slope = difficulty * 0.4
        step_height = 0.05 + 0.18 * difficulty
        discrete_obstacles_height = 0.05 + difficulty * 0.2
        stepping_stones_size = 1.5 * (1.05 - difficulty)
        stone_distance = 0.05 if difficulty == 0 else 0.1
        p = self.proportions
        if choice < p[0]:
            if choice < p[0] / 2:
                slope *= -1
            terrain_utils.pyramid_sloped_terrain(terrain, slope=slope, platform_size=3.0)
            terrain.kind = "slope_up" if choice < p[0] / 2 else "slope_down"
        elif choice < p[1]:
            terrain_utils.pyramid_sloped_terrain(terrain, slope=slope, platform_size=3.0)
            terrain_utils.random_uniform_terrain(terrain, min_height=-0.05, max_height=0.05, step=0.005,
                                                 downsampled_scale=0.2)
            terrain.kind = "rough_slope"
        elif choice < p[3]:
            if choice < p[2]:
                step_height *= -1
            terrain_utils.pyramid_stairs_terrain(terrain, step_width=0.31, step_height=step_height,
                                                 platform_size=3.0)
            terrain.kind = "stairs_up" if choice < p[2] else "stairs_down"
        elif choice < p[4]:
            terrain_utils.discrete_obstacles_terrain(terrain, discrete_obstacles_height, 1.0, 2.0, 20,
                                                     platform_size=3.0)
            terrain.kind = "discrete"
        elif choice < p[5]:
            terrain_utils.stepping_stones_terrain(terrain, stone_size=stepping_stones_size,
                                                  stone_distance=stone_distance, max_height=0.0, platform_size=4.0)
            terrain.kind = "stepping_stones"
        elif choice < p[6]:
            terrain.kind = "gap"
        else:
            terrain.kind = "pit"
        return terrain

    def _place(self, terrain, row, col, difficulty) -> None:  # noqa: ANN001
        self.add_terrain_to_map(terrain, row, col)
        self.tile_kinds[row][col] = terrain.kind
        self.tile_difficulties[row, col] = difficulty

    def add_terrain_to_map(self, terrain, row, col) -> None:  # noqa: ANN001
        i, j = row, col
        start_x = self.border + i * self.length_per_env_pixels
        end_x = self.border + (i + 1) * self.length_per_env_pixels
        start_y = self.border + j * self.width_per_env_pixels
        end_y = self.border + (j + 1) * self.width_per_env_pixels
        self.height_field_raw[start_x:end_x, start_y:end_y] = terrain.height_field_raw
        env_origin_x = (i + 0.5) * self.env_length
        env_origin_y = (j + 0.5) * self.env_width
        x1 = int((self.env_length / 2.0 - 1) / terrain.horizontal_scale)
        x2 = int((self.env_length / 2.0 + 1) / terrain.horizontal_scale)
        y1 = int((self.env_width / 2.0 - 1) / terrain.horizontal_scale)
        y2 = int((self.env_width / 2.0 + 1) / terrain.horizontal_scale)
        env_origin_z = np.max(terrain.height_field_raw[x1:x2, y1:y2]) * terrain.vertical_scale
        self.env_origins[i, j] = [env_origin_x, env_origin_y, env_origin_z]
