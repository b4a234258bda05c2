"""The Go2 task's left/right mirror (torch-free): the reflection y -> -y of the robot and its world, as index + sign
maps of the observation groups and of the actions (``fastembody_core.MirrorableEnv``; PPO's ``symmetry: augment``).

Built term by term from a group's layout (:mod:`.task`), so any configured composition mirrors: the legs swap
sides (FL <-> FR, RL <-> RR, :data:`.robot.LEG_NAMES`) and hip (abduction) joints change sign, since the default pose
is symmetric (q0 of a left hip = -q0 of the right one) and so are offsets from it, velocities and actions (q* = q0 +
scale * a); a polar vector in the body frame (linear velocity, gravity) flips its y, an axial one (angular velocity)
its x and z; the command's vy and yaw rate flip; foot contacts swap legs; the height scan reads each point at its
mirror image across the base's x axis (``terrain.scan_y`` must be symmetric about 0); scalars stay.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from . import robot
from .task import HEIGHT_SCAN_TERM, term_dims

MirrorMap = Tuple[Tuple[int, ...], Tuple[float, ...]]
ACTIONS = "actions"
"""The actions' key in :func:`mirror_maps` (``fastembody_core.MIRROR_ACTIONS``)."""

POLAR = (1.0, -1.0, 1.0)
"""Sign of a polar vector's (x, y, z) under y -> -y."""
AXIAL = (-1.0, 1.0, -1.0)
"""Sign of an axial vector's (angular velocity's) (x, y, z): rotations about x and z reverse."""
SCALARS = ("friction", "payload", "motor_strength", "base_height")
"""Terms a reflection leaves unchanged."""


def mirrored_leg(leg: int) -> int:
    """Index of the leg on the other side (FL <-> FR, RL <-> RR) in :data:`.robot.LEG_NAMES`."""
    name = robot.LEG_NAMES[leg]
    return robot.LEG_NAMES.index(name[0] + {"L": "R", "R": "L"}[name[1]])


def joint_map() -> MirrorMap:
    """The 12 joints (legged_gym order): the other side's leg, hip joints negated."""
    kinds = len(robot.JOINT_KINDS)
    perm = tuple(mirrored_leg(leg) * kinds + k for leg in range(robot.NUM_LEGS) for k in range(kinds))
    sign = tuple(-1.0 if robot.JOINT_KINDS[k] == "hip" else 1.0 for _ in range(robot.NUM_LEGS) for k in range(kinds))
    return perm, sign


def scan_map(scan_y: Sequence[float], num_points: int, tol: float = 1e-6) -> Optional[MirrorMap]:
    """The height scan (x-major, ``index = ix * len(scan_y) + iy``): each point reads its mirror (x, -y); None when
    ``scan_y`` is not symmetric about 0 (some point has no mirror image)."""
    ys = [float(y) for y in scan_y]
    if not ys or num_points % len(ys):
        return None
    mirror_y: List[int] = []
    for y in ys:
        match = [j for j, other in enumerate(ys) if abs(other + y) <= tol]
        if not match:
            return None
        mirror_y.append(match[0])
    ny = len(ys)
    perm = tuple((i // ny) * ny + mirror_y[i % ny] for i in range(num_points))
    return perm, (1.0,) * num_points


def term_map(term: str, scan_y: Sequence[float] = (), scan_points: int = 0) -> Optional[MirrorMap]:
    """One observation term's map (indices within the term); None when it cannot be mirrored (an unknown term, or
    a height scan on an asymmetric grid)."""
    if term in ("base_lin_vel", "projected_gravity"):
        return (0, 1, 2), POLAR
    if term == "base_ang_vel":
        return (0, 1, 2), AXIAL
    if term == "commands":  # (vx, vy, yaw rate)
        return (0, 1, 2), (1.0, -1.0, -1.0)
    if term in ("joint_pos", "joint_vel", "actions"):
        return joint_map()
    if term == "foot_contacts":
        return tuple(mirrored_leg(leg) for leg in range(robot.NUM_LEGS)), (1.0,) * robot.NUM_LEGS
    if term in SCALARS:
        return (0,), (1.0,)
    if term == HEIGHT_SCAN_TERM:
        return scan_map(scan_y, scan_points)
    return None


def group_map(terms: Sequence[str], scan_y: Sequence[float] = (), scan_points: int = 0) -> Optional[MirrorMap]:
    """A group's map: its terms' maps shifted by their offsets, in layout order; None if a term cannot mirror."""
    dims = term_dims(scan_points) if scan_points else term_dims()
    perm: List[int] = []
    sign: List[float] = []
    for term in terms:
        one = term_map(term, scan_y, dims.get(term, 0))
        if one is None or len(one[0]) != dims.get(term):
            return None
        offset = len(perm)
        perm.extend(offset + i for i in one[0])
        sign.extend(one[1])
    return tuple(perm), tuple(sign)


def mirror_maps(observation_terms: Mapping[str, Sequence[str]], scan_y: Sequence[float] = (),
                scan_points: int = 0) -> Dict[str, MirrorMap]:
    """``{group: (perm, sign)}`` of every group whose terms all mirror, plus ``"actions"``: what a Go2 env's
    ``mirror_maps()`` returns (``scan_points``: the height scan's width, len(scan_x) * len(scan_y))."""
    out: Dict[str, MirrorMap] = {}
    for group, terms in observation_terms.items():
        one = group_map(terms, scan_y, scan_points)
        if one is not None:
            out[group] = one
    out[ACTIONS] = joint_map()
    return out
