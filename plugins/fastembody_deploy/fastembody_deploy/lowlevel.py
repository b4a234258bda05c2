"""Go2 low-level message helpers: C-layout packing, Unitree CRC, remote bytes, IMU maths.

Pure numpy + standard library (no torch, no unitree_sdk2py), Python 3.8 compatible.
Layouts follow ``unitree_go.msg.dds_.LowCmd_`` / ``LowState_`` packed as little-endian
C structs with natural alignment (see shared/reference/go2_deploy.md, section 1).
"""
import math
import struct
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

NUM_MOTORS = 20
NUM_JOINTS = 12
HEAD = (0xFE, 0xEF)
LEVEL_LOWLEVEL = 0xFF
MOTOR_MODE_SERVO = 0x01
POS_STOP_F = 2.146e9
VEL_STOP_F = 16000.0

# SDK motor order: FR, FL, RR, RL x (hip, thigh, calf) at motor_cmd[0..11].
SDK_JOINT_NAMES = tuple(
    "%s_%s_joint" % (leg, part) for leg in ("FR", "FL", "RR", "RL") for part in ("hip", "thigh", "calf")
)

# --------------------------------------------------------------------------- CRC
_POLY = 0x04C11DB7
_MASK = 0xFFFFFFFF


def _build_crc_table() -> List[int]:
    table = []  # MSB-first table for _POLY
    for byte in range(256):
        c = byte << 24
        for _ in range(8):
            c = ((c << 1) ^ _POLY) if c & 0x80000000 else (c << 1)
            c &= _MASK
        table.append(c)
    return table


_CRC_TABLE = _build_crc_table()


def crc32_words(data: bytes) -> int:
    """Unitree's CRC-32 (MPEG-2 parameters) fed one little-endian uint32 word at a time, MSB first.

    Equals standard CRC-32/MPEG-2 over ``data`` with every 4-byte word byte-reversed.
    ``len(data)`` must be a multiple of 4.
    """
    raw = bytes(data)
    n = len(raw)
    if n % 4:
        raise ValueError("crc32_words needs a multiple of 4 bytes, got %d" % n)
    swapped = bytearray(n)
    swapped[0::4] = raw[3::4]
    swapped[1::4] = raw[2::4]
    swapped[2::4] = raw[1::4]
    swapped[3::4] = raw[0::4]
    crc, table = _MASK, _CRC_TABLE
    for b in swapped:
        crc = ((crc << 8) & _MASK) ^ table[(crc >> 24) ^ b]
    return crc


# ------------------------------------------------------------------------ LowCmd
# head[2] level_flag frame_reserve | sn[2] version[2] | bandwidth pad2 |
# 20 x (mode pad3 q dq tau kp kd reserve[3]) | bms_cmd(off, reserve[3]) |
# wireless_remote[40] led[12] fan[2] gpio pad1 | reserve crc
_LOW_CMD_FMT = "<4B4IH2x" + "B3x5f3I" * NUM_MOTORS + "4B" + "55Bx2I"
LOW_CMD_SIZE = 812
LOW_CMD_MOTOR_OFFSET = 24
LOW_CMD_MOTOR_STRIDE = 36
LOW_CMD_REMOTE_OFFSET = 748
assert struct.calcsize(_LOW_CMD_FMT) == LOW_CMD_SIZE


def _zeros_u8() -> np.ndarray:
    return np.zeros(NUM_MOTORS, dtype=np.uint8)


def _zeros_f32() -> np.ndarray:
    return np.zeros(NUM_MOTORS, dtype=np.float32)


@dataclass
class LowCmdValues:
    """The LowCmd fields FastEmbody sets; every other field packs as zero (default: all zero)."""

    mode: np.ndarray = field(default_factory=_zeros_u8)
    q: np.ndarray = field(default_factory=_zeros_f32)
    dq: np.ndarray = field(default_factory=_zeros_f32)
    tau: np.ndarray = field(default_factory=_zeros_f32)
    kp: np.ndarray = field(default_factory=_zeros_f32)
    kd: np.ndarray = field(default_factory=_zeros_f32)
    head: Tuple[int, int] = (0, 0)
    level_flag: int = 0


def initial_low_cmd() -> LowCmdValues:
    """Unitree's initialised LowCmd: head FE EF, level 0xFF, servo mode, stop sentinels, zero gains."""
    return LowCmdValues(
        mode=np.full(NUM_MOTORS, MOTOR_MODE_SERVO, dtype=np.uint8),
        q=np.full(NUM_MOTORS, POS_STOP_F, dtype=np.float32),
        dq=np.full(NUM_MOTORS, VEL_STOP_F, dtype=np.float32),
        head=HEAD,
        level_flag=LEVEL_LOWLEVEL,
    )


def _motor_list(values: object, dtype: type, name: str) -> list:
    arr = np.asarray(values, dtype=dtype).reshape(-1)
    if arr.shape[0] != NUM_MOTORS:
        raise ValueError("%s must have %d entries, got %d" % (name, NUM_MOTORS, arr.shape[0]))
    return arr.tolist()


def _pack_low_cmd_body(cmd: LowCmdValues) -> bytes:
    """All 812 bytes with crc = 0."""
    cols = [_motor_list(cmd.mode, np.uint8, "mode")]
    for name in ("q", "dq", "tau", "kp", "kd"):
        cols.append(_motor_list(getattr(cmd, name), np.float32, name))
    args = [int(cmd.head[0]), int(cmd.head[1]), int(cmd.level_flag), 0, 0, 0, 0, 0, 0]
    for motor in zip(*cols):
        args.extend(motor)
        args.extend((0, 0, 0))
    args.extend([0] * (4 + 55 + 2))
    return struct.pack(_LOW_CMD_FMT, *args)


def low_cmd_crc(cmd: LowCmdValues) -> int:
    """CRC of the packed LowCmd: crc32_words over its first 808 bytes (202 words)."""
    return crc32_words(_pack_low_cmd_body(cmd)[: LOW_CMD_SIZE - 4])


def pack_low_cmd(cmd: LowCmdValues) -> bytes:
    """Pack ``cmd`` into the 812-byte C layout of LowCmd_, with the crc word filled in."""
    body = _pack_low_cmd_body(cmd)[: LOW_CMD_SIZE - 4]
    return body + struct.pack("<I", crc32_words(body))


# ---------------------------------------------------------------------- LowState
# Same as Unitree's packer but with unsigned codes where the IDL is unsigned.
_LOW_STATE_FMT = "<4B4IH2x" + "13fB3x" + "B3x7fB3x3I" * NUM_MOTORS + "4BiH4B15H" + "8hI41B3xf2B2x2f4H2I"
LOW_STATE_SIZE = 1180
LOW_STATE_TICK_OFFSET = 1100
assert struct.calcsize(_LOW_STATE_FMT) == LOW_STATE_SIZE


def _padded(values: Optional[Iterable[float]], n: int) -> list:
    out = [0.0] * n
    if values is not None:
        vals = np.asarray(values, dtype=np.float32).reshape(-1).tolist()
        if len(vals) > n:
            raise ValueError("at most %d values expected, got %d" % (n, len(vals)))
        out[: len(vals)] = vals
    return out


def pack_low_state(
    quat_wxyz: Sequence[float] = (1.0, 0.0, 0.0, 0.0),
    gyro: Optional[Sequence[float]] = None,
    acc: Optional[Sequence[float]] = None,
    q: Optional[Sequence[float]] = None,
    dq: Optional[Sequence[float]] = None,
    tau_est: Optional[Sequence[float]] = None,
    tick: int = 0,
    wireless_remote: bytes = bytes(40),
    head: Tuple[int, int] = HEAD,
    level_flag: int = 0,
    motor_mode: Optional[Sequence[int]] = None,
) -> bytes:
    """Pack a LowState_ (1180 bytes, crc filled) with the given fields and zeros elsewhere.

    Motor arrays (and ``motor_mode``) may hold up to 20 entries (SDK order); missing ones are zero.
    """
    remote = bytes(wireless_remote)
    if len(remote) != 40:
        raise ValueError("wireless_remote must be 40 bytes")
    args = [int(head[0]), int(head[1]), int(level_flag), 0, 0, 0, 0, 0, 0]
    args += _padded(quat_wxyz, 4) + _padded(gyro, 3) + _padded(acc, 3) + [0.0] * 3 + [0]
    modes = [int(m) for m in _padded(motor_mode, NUM_MOTORS)]
    motors = zip(modes, _padded(q, NUM_MOTORS), _padded(dq, NUM_MOTORS), _padded(tau_est, NUM_MOTORS))
    for mode, mq, mdq, mtau in motors:
        args += [mode, mq, mdq, 0.0, mtau, 0.0, 0.0, 0.0, 0, 0, 0, 0]
    args += [0] * (4 + 1 + 1 + 4 + 15 + 8)
    args += [int(tick)] + list(remote) + [0, 0.0, 0, 0, 0.0, 0.0, 0, 0, 0, 0, 0, 0]
    packed = struct.pack(_LOW_STATE_FMT, *args)[: LOW_STATE_SIZE - 4]
    return packed + struct.pack("<I", crc32_words(packed))


# ------------------------------------------------------------------------ remote
KEY_BITS: Dict[str, int] = {
    name: bit
    for bit, name in enumerate(
        ("R1", "L1", "Start", "Select", "R2", "L2", "F1", "F2", "A", "B", "X", "Y", "Up", "Right", "Down", "Left")
    )
}

# 2 head bytes, uint16 keys, then float32 lx, rx, ry, L2 analog, ly (ly after L2!).
_REMOTE_FMT = "<2xH5f"
REMOTE_SIZE = 40


@dataclass
class RemoteState:
    """Decoded ``wireless_remote`` bytes: key bitfield and stick values."""

    keys: int = 0
    lx: float = 0.0
    rx: float = 0.0
    ry: float = 0.0
    ly: float = 0.0

    def pressed(self, name: str) -> bool:
        """True when key ``name`` (a KEY_BITS name) is held down."""
        return bool((self.keys >> KEY_BITS[name]) & 1)


def decode_remote(data: object) -> RemoteState:
    """Decode the 40 ``wireless_remote`` bytes (bytes-like, list of ints or uint8 array)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
    else:
        raw = np.asarray(data, dtype=np.uint8).reshape(-1).tobytes()
    if len(raw) != REMOTE_SIZE:
        raise ValueError("wireless_remote must be %d bytes, got %d" % (REMOTE_SIZE, len(raw)))
    keys, lx, rx, ry, _l2, ly = struct.unpack_from(_REMOTE_FMT, raw)
    return RemoteState(keys=keys, lx=lx, rx=rx, ry=ry, ly=ly)


def encode_remote(
    keys_pressed: Iterable[str] = (), lx: float = 0.0, rx: float = 0.0, ry: float = 0.0, ly: float = 0.0
) -> bytes:
    """Build 40 ``wireless_remote`` bytes with the named keys held and the given stick values."""
    keys = sum(1 << KEY_BITS[name] for name in set(keys_pressed))
    raw = bytearray(REMOTE_SIZE)
    struct.pack_into(_REMOTE_FMT, raw, 0, keys, lx, rx, ry, 0.0, ly)
    return bytes(raw)


# --------------------------------------------------------------------- IMU maths
def projected_gravity(quat_wxyz: Sequence[float]) -> np.ndarray:
    """Unit gravity (world (0, 0, -1)) expressed in the body frame, from a (w, x, y, z) quaternion.

    Level gives (0, 0, -1), as legged_gym's quat_rotate_inverse(base_quat, [0, 0, -1]).
    For a unit quaternion this is exactly unitree_rl_gym's formula
    (2(wy - xz), -2(yz + wx), 1 - 2(w^2 + z^2)) with the same sign. The input is normalised;
    a (..., 4) batch gives (..., 3). A zero quaternion raises ValueError.
    """
    quat = np.asarray(quat_wxyz, dtype=np.float64)
    norm = np.linalg.norm(quat, axis=-1, keepdims=True)
    if np.any(norm == 0.0):
        raise ValueError("zero quaternion")
    w, x, y, z = np.moveaxis(quat / norm, -1, 0)
    # -(third row of R(q)) = R^T (0, 0, -1)
    return np.stack((2.0 * (w * y - x * z), -2.0 * (y * z + w * x), 2.0 * (x * x + y * y) - 1.0), axis=-1)


def tilt_angle(quat_wxyz: Sequence[float]) -> float:
    """Angle in rad between body z and world z (0 when level, pi upside down)."""
    g = projected_gravity(quat_wxyz)
    if g.ndim != 1:
        raise ValueError("tilt_angle takes a single (w, x, y, z) quaternion")
    return float(math.atan2(math.hypot(g[0], g[1]), -g[2]))
