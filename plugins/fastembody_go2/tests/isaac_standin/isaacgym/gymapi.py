"""Stand-in of ``isaacgym.gymapi``: the sim types, SimParams and a Gym handle with what legged_gym calls."""
from isaacgym import gymdeps  # noqa: F401

SIM_PHYSX = 1
SIM_FLEX = 0
UP_AXIS_Y = 0
UP_AXIS_Z = 1


class PhysXParams:
    def __init__(self) -> None:
        self.use_gpu = False
        self.num_subscenes = 0
        self.num_threads = 0
        self.solver_type = 1
        self.num_position_iterations = 4
        self.num_velocity_iterations = 1
        self.contact_offset = 0.02
        self.rest_offset = 0.001
        self.bounce_threshold_velocity = 0.2
        self.max_depenetration_velocity = 100.0
        self.max_gpu_contact_pairs = 1024 * 1024
        self.default_buffer_size_multiplier = 2.0
        self.contact_collection = 1


class SimParams:
    def __init__(self) -> None:
        self.dt = 1.0 / 60.0
        self.substeps = 2
        self.up_axis = UP_AXIS_Y
        self.gravity = (0.0, -9.8, 0.0)
        self.use_gpu_pipeline = False
        self.physx = PhysXParams()


class Vec3:
    def __init__(self, x: float = 0.0, y: float = 0.0, z: float = 0.0):
        self.x, self.y, self.z = x, y, z


class Transform:
    def __init__(self) -> None:
        self.p = Vec3()


class PlaneParams:
    def __init__(self) -> None:
        self.normal = Vec3(0.0, 1.0, 0.0)
        self.distance = 0.0
        self.static_friction = 1.0
        self.dynamic_friction = 1.0
        self.restitution = 0.0


class TriangleMeshParams:
    def __init__(self) -> None:
        self.nb_vertices = 0
        self.nb_triangles = 0
        self.transform = Transform()
        self.static_friction = 1.0
        self.dynamic_friction = 1.0
        self.restitution = 0.0


class HeightFieldParams:
    def __init__(self) -> None:
        self.column_scale = 1.0
        self.row_scale = 1.0
        self.vertical_scale = 1.0
        self.nbRows = 0
        self.nbColumns = 0
        self.transform = Transform()
        self.static_friction = 1.0
        self.dynamic_friction = 1.0
        self.restitution = 0.0


class Sim:
    def __init__(self, compute_device: int, graphics_device: int, physics_engine: int, params: SimParams):
        self.compute_device = compute_device
        self.graphics_device = graphics_device
        self.physics_engine = physics_engine
        self.params = params
        self.destroyed = False
        self.grounds = []
        """What was added as ground: ("plane" | "trimesh" | "heightfield", its params) (stand-in record)."""


class Gym:
    """The handle ``acquire_gym()`` returns; the stand-in's physics lives in legged_gym's LeggedRobot."""

    def create_sim(self, compute_device: int, graphics_device: int, physics_engine: int, params: SimParams) -> Sim:
        if physics_engine != SIM_PHYSX:
            raise RuntimeError("stand-in: legged_gym needs PhysX")
        return Sim(compute_device, graphics_device, physics_engine, params)

    def add_ground(self, sim: Sim, params: PlaneParams) -> None:
        sim.grounds.append(("plane", params))

    def add_triangle_mesh(self, sim: Sim, vertices: object, triangles: object, params: TriangleMeshParams) -> None:
        sim.grounds.append(("trimesh", params))

    def add_heightfield(self, sim: Sim, heights: object, params: HeightFieldParams) -> None:
        sim.grounds.append(("heightfield", params))

    def prepare_sim(self, sim: Sim) -> bool:
        return True

    def simulate(self, sim: Sim) -> None:
        if sim.destroyed:
            raise RuntimeError("stand-in: simulate() on a destroyed sim")

    def fetch_results(self, sim: Sim, wait: bool) -> None:
        pass

    def create_viewer(self, sim: Sim, camera_properties: object) -> object:
        return object()

    def destroy_viewer(self, viewer: object) -> None:
        pass

    def destroy_sim(self, sim: Sim) -> None:
        sim.destroyed = True


class CameraProperties:
    pass


_GYM = Gym()


def acquire_gym() -> Gym:
    return _GYM
