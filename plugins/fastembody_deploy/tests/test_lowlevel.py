"""Tests for fastembody_deploy.lowlevel (numpy only)."""
import math
import struct
import time

import numpy as np
import pytest

from fastembody_deploy import lowlevel as ll


def _unitree_bitwise_crc(words):
    """Slow reference: Unitree's word-wise loop, one bit at a time, MSB first."""
    poly = 0x04C11DB7
    crc = 0xFFFFFFFF
    for word in words:
        for i in range(31, -1, -1):
            top = crc & 0x80000000
            crc = (crc << 1) & 0xFFFFFFFF
            if top:
                crc ^= poly
            if (word >> i) & 1:
                crc ^= poly
    return crc


def _mpeg2_bytes_bitwise(data):
    """Slow standard CRC-32/MPEG-2 over a byte string."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
            crc &= 0xFFFFFFFF
    return crc


def test_mpeg2_check_value_word_feed():
    # Standard check value of CRC-32/MPEG-2("123456789") is 0x0376E6E7; for the word feed the
    # bytes go in little-endian words, so feed "123456789" padded to 12 bytes, byte-reversed.
    msg = b"123456789\x00\x00\x00"
    assert _mpeg2_bytes_bitwise(b"123456789") == 0x0376E6E7
    reversed_words = b"".join(msg[i : i + 4][::-1] for i in range(0, len(msg), 4))
    assert ll.crc32_words(reversed_words) == _mpeg2_bytes_bitwise(msg)
    # "1234" "5678" as LE words fed MSB-first == MPEG-2 over "43218765".
    assert ll.crc32_words(b"12345678") == _mpeg2_bytes_bitwise(b"43218765")
    assert ll.crc32_words(b"") == 0xFFFFFFFF


@pytest.mark.parametrize("nwords", [1, 5, 202])
def test_crc_matches_bitwise_reference(nwords):
    rng = np.random.default_rng(nwords)
    data = rng.integers(0, 256, size=4 * nwords, dtype=np.uint8).tobytes()
    words = struct.unpack("<%dI" % nwords, data)
    assert ll.crc32_words(data) == _unitree_bitwise_crc(words)
    assert ll.crc32_words(bytearray(data)) == ll.crc32_words(memoryview(data))


def test_crc_rejects_partial_word():
    with pytest.raises(ValueError):
        ll.crc32_words(b"12345")


def test_crc_is_fast():
    data = bytes(range(256)) * 3 + bytes(40)
    assert len(data) == 808
    t0 = time.perf_counter()
    for _ in range(20):
        ll.crc32_words(data)
    assert (time.perf_counter() - t0) / 20 < 5e-3  # ~0.1 ms typical; loose for loaded CI


def test_constants_and_names():
    assert ll.NUM_MOTORS == 20 and ll.NUM_JOINTS == 12
    assert ll.HEAD == (0xFE, 0xEF) and ll.LEVEL_LOWLEVEL == 0xFF and ll.MOTOR_MODE_SERVO == 1
    assert len(ll.SDK_JOINT_NAMES) == 12 and len(set(ll.SDK_JOINT_NAMES)) == 12
    assert ll.SDK_JOINT_NAMES[:3] == ("FR_hip_joint", "FR_thigh_joint", "FR_calf_joint")
    assert [n.split("_")[0] for n in ll.SDK_JOINT_NAMES[::3]] == ["FR", "FL", "RR", "RL"]


def test_low_cmd_vectors():
    zero = ll.LowCmdValues()
    assert ll.low_cmd_crc(zero) == 1264208000
    init = ll.initial_low_cmd()
    assert ll.low_cmd_crc(init) == 115701709
    packed = ll.pack_low_cmd(init)
    assert struct.unpack_from("<I", packed, 808)[0] == 115701709
    assert ll.crc32_words(packed[:808]) == 115701709


def test_initial_low_cmd_fields():
    cmd = ll.initial_low_cmd()
    assert cmd.mode.dtype == np.uint8 and np.all(cmd.mode == 1)
    assert cmd.q.dtype == np.float32 and np.all(cmd.q == np.float32(2.146e9))
    assert np.all(cmd.dq == 16000.0)
    for a in (cmd.tau, cmd.kp, cmd.kd):
        assert a.shape == (20,) and not a.any()
    assert cmd.head == (0xFE, 0xEF) and cmd.level_flag == 0xFF


def test_low_cmd_layout_offsets():
    cmd = ll.initial_low_cmd()
    cmd.q[:] = np.arange(20, dtype=np.float32)
    cmd.dq[0], cmd.tau[0], cmd.kp[0], cmd.kd[0] = 1.5, 2.5, 20.0, 0.5
    cmd.mode[19] = 7
    packed = ll.pack_low_cmd(cmd)
    assert len(packed) == ll.LOW_CMD_SIZE == 812
    assert packed[:4] == b"\xfe\xef\xff\x00"
    assert packed[20:24] == bytes(4)  # bandwidth + pad
    assert packed[24] == 1 and packed[25:28] == bytes(3)  # motor_cmd[0].mode + pad
    assert struct.unpack_from("<5f", packed, 28) == (0.0, 1.5, 2.5, 20.0, 0.5)
    assert struct.unpack_from("<f", packed, 28 + 36)[0] == 1.0  # motor_cmd[1].q
    assert packed[24 + 19 * 36] == 7
    assert struct.unpack_from("<f", packed, 24 + 19 * 36 + 4)[0] == 19.0
    assert ll.LOW_CMD_REMOTE_OFFSET == 748 and 24 + 20 * 36 + 4 == 748
    assert packed[744:808] == bytes(64)  # bms, remote, led, fan, gpio, pad, reserve


def test_low_cmd_crc_changes_and_validates():
    cmd = ll.initial_low_cmd()
    base = ll.low_cmd_crc(cmd)
    cmd.kp[3] = 20.0
    assert ll.low_cmd_crc(cmd) != base
    cmd.kp = np.zeros(12, dtype=np.float32)
    with pytest.raises(ValueError):
        ll.pack_low_cmd(cmd)


def test_low_state_layout():
    remote = ll.encode_remote(["A"], ly=0.5)
    q = np.linspace(-1, 1, 12)
    packed = ll.pack_low_state(quat_wxyz=(1, 0, 0, 0), gyro=(0.1, 0.2, 0.3), q=q, dq=q * 2, tick=1234,
                               wireless_remote=remote)
    assert len(packed) == ll.LOW_STATE_SIZE == 1180
    assert struct.unpack_from("<I", packed, ll.LOW_STATE_TICK_OFFSET)[0] == 1234
    assert packed[1104:1144] == remote
    assert struct.unpack_from("<4f", packed, 24) == (1.0, 0.0, 0.0, 0.0)
    # motor_state[1]: starts at 80 + 48; q at +4, dq at +8
    assert struct.unpack_from("<2f", packed, 80 + 48 + 4) == pytest.approx((q[1], 2 * q[1]), abs=1e-6)
    assert struct.unpack_from("<I", packed, 1176)[0] == ll.crc32_words(packed[:1176])


def test_remote_round_trip_and_bytes():
    raw = ll.encode_remote(["A", "L2", "Left"], lx=0.25, rx=-0.5, ry=0.75, ly=-1.0)
    assert len(raw) == 40 and raw[:2] == b"\x00\x00" and raw[24:] == bytes(16)
    assert raw[2] == 1 << 5 and raw[3] == (1 << 0) | (1 << 7)  # L2 bit5; A bit8, Left bit15
    assert struct.unpack_from("<f", raw, 4)[0] == 0.25  # lx
    assert struct.unpack_from("<f", raw, 8)[0] == -0.5  # rx
    assert struct.unpack_from("<f", raw, 12)[0] == 0.75  # ry
    assert raw[16:20] == bytes(4)  # L2 analog
    assert struct.unpack_from("<f", raw, 20)[0] == -1.0  # ly comes after the L2 float
    st = ll.decode_remote(raw)
    assert st == ll.RemoteState(keys=(1 << 8) | (1 << 5) | (1 << 15), lx=0.25, rx=-0.5, ry=0.75, ly=-1.0)
    assert st.pressed("A") and st.pressed("L2") and st.pressed("Left")
    assert not st.pressed("B") and not st.pressed("R1")
    assert ll.decode_remote(list(raw)) == st  # DDS gives a list of ints
    assert ll.decode_remote(np.frombuffer(raw, dtype=np.uint8)) == st


def test_remote_key_bits_and_errors():
    names = ["R1", "L1", "Start", "Select", "R2", "L2", "F1", "F2",
             "A", "B", "X", "Y", "Up", "Right", "Down", "Left"]
    assert ll.KEY_BITS == {n: i for i, n in enumerate(names)}
    for n, bit in ll.KEY_BITS.items():
        st = ll.decode_remote(ll.encode_remote([n]))
        assert st.keys == 1 << bit and [k for k in names if st.pressed(k)] == [n]
    assert ll.decode_remote(bytes(40)) == ll.RemoteState(0, 0.0, 0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        ll.decode_remote(bytes(39))
    with pytest.raises(KeyError):
        ll.encode_remote(["Z"])


def _quat_axis_angle(axis, angle):
    axis = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    return np.concatenate(([math.cos(angle / 2)], math.sin(angle / 2) * axis))


def _reference_formula(q):
    w, x, y, z = q
    return np.array([2 * (w * y - x * z), -2 * (y * z + w * x), 1 - 2 * (w * w + z * z)])


def _rot(q):
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def test_projected_gravity_cases():
    assert np.allclose(ll.projected_gravity((1, 0, 0, 0)), (0, 0, -1))
    # yaw does not change projected gravity
    assert np.allclose(ll.projected_gravity(_quat_axis_angle((0, 0, 1), 1.0)), (0, 0, -1))
    # roll +90 deg (left side up, body y = world z): gravity along body -y
    assert np.allclose(ll.projected_gravity(_quat_axis_angle((1, 0, 0), math.pi / 2)), (0, -1, 0), atol=1e-12)
    # pitch +90 deg (nose down, body x = world -z): gravity along +x in the body frame
    assert np.allclose(ll.projected_gravity(_quat_axis_angle((0, 1, 0), math.pi / 2)), (1, 0, 0), atol=1e-12)
    # upside down
    assert np.allclose(ll.projected_gravity((0, 1, 0, 0)), (0, 0, 1))
    # non-normalised input is normalised
    assert np.allclose(ll.projected_gravity((2, 0, 0, 0)), (0, 0, -1))
    with pytest.raises(ValueError):
        ll.projected_gravity((0, 0, 0, 0))


def test_projected_gravity_matches_rotation_and_reference_sign():
    rng = np.random.default_rng(0)
    quats = rng.normal(size=(50, 4))
    quats /= np.linalg.norm(quats, axis=1, keepdims=True)
    batch = ll.projected_gravity(quats)
    assert batch.shape == (50, 3)
    for q, g in zip(quats, batch):
        assert np.allclose(g, _rot(q).T @ np.array([0.0, 0.0, -1.0]))
        # unitree_rl_gym's formula has the SAME sign (overall factor +1) for unit quaternions
        assert np.allclose(g, _reference_formula(q))
        assert np.isclose(np.linalg.norm(g), 1.0)


def test_tilt_angle():
    assert ll.tilt_angle((1, 0, 0, 0)) == 0.0
    assert math.isclose(ll.tilt_angle(_quat_axis_angle((0, 0, 1), 2.0)), 0.0, abs_tol=1e-12)
    for axis in ((1, 0, 0), (0, 1, 0), (1, -1, 0)):
        for angle in (1e-4, 0.3, math.pi / 2, 2.5):
            q = _quat_axis_angle(axis, angle)
            assert math.isclose(ll.tilt_angle(q), angle, rel_tol=1e-9, abs_tol=1e-12)
            assert math.isclose(ll.tilt_angle(-q), angle, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(ll.tilt_angle((0, 0, 1, 0)), math.pi)
    # tilt composed with yaw is unchanged
    yaw = _quat_axis_angle((0, 0, 1), 0.7)
    roll = _quat_axis_angle((1, 0, 0), 0.4)
    w1, x1, y1, z1 = yaw
    w2, x2, y2, z2 = roll
    q = (w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
         w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2)
    assert math.isclose(ll.tilt_angle(q), 0.4, rel_tol=1e-9)
