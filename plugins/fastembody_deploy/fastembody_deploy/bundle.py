"""Loading a policy bundle on the robot side (``fastembody export RUN --format bundle`` writes it): the manifest,
checked for what this runner needs, and the ONNX policy in onnxruntime.

torch-free and Python-3.8-clean: this is what runs on the Go2. Every problem is one :class:`DeployError` line
naming the bundle and what is wrong; nothing is sent to a robot before :func:`load_bundle` has returned.
"""
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np

from .errors import DeployError

SCHEMA = "fastembody.bundle"
SCHEMA_VERSION = 1
"""The newest manifest schema this runner reads (fastembody_core.bundle writes it)."""
MANIFEST_NAME = "manifest.json"
POLICY_NAME = "policy.onnx"
MEASURABLE_TERMS = ("base_ang_vel", "projected_gravity", "commands", "joint_pos", "joint_vel", "actions")
"""Observation terms the runner can compute from the low-level state, the command and its own last action."""
ROBOT_KEYS = ("joint_names", "policy_from_sdk", "sdk_from_policy", "default_joint_pos", "kp", "kd", "action_scale",
              "clip_actions", "control_dt", "clip_observations", "joint_lower", "joint_upper", "command_ranges",
              "fall_limits", "observation_terms")


@dataclass
class Bundle:
    """A checked bundle: its manifest's robot section as numpy arrays and the observation layout."""

    path: Path
    manifest: Dict[str, Any]
    terms: List[str]
    term_dims: Dict[str, int]
    term_scales: Dict[str, np.ndarray]
    obs_dim: int
    recurrent: bool
    state_shape: Optional[List[int]]
    policy_from_sdk: np.ndarray
    sdk_from_policy: np.ndarray
    default_joint_pos: np.ndarray
    joint_lower: np.ndarray
    joint_upper: np.ndarray
    kp: float
    kd: float
    action_scale: float
    clip_actions: float
    clip_observations: float
    control_dt: float
    command_ranges: Dict[str, List[float]]
    max_tilt: float

    @property
    def robot(self) -> Dict[str, Any]:
        return self.manifest["robot"]

    @property
    def term_slices(self) -> Dict[str, slice]:
        """Where each term sits in the observation vector."""
        out, start = {}, 0
        for term in self.terms:
            out[term] = slice(start, start + self.term_dims[term])
            start += self.term_dims[term]
        return out

    @property
    def policy_file(self) -> Path:
        return self.path / self.manifest["policy"]["file"]


def _fail(path: Path, message: str) -> None:
    raise DeployError(f"bundle {path}: {message}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(str(path), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def read_manifest(path: Union[str, Path]) -> Dict[str, Any]:
    """The manifest of the bundle directory ``path`` (files present, readable JSON, a schema this runner reads)."""
    path = Path(path)
    if not path.is_dir():
        _fail(path, "not a directory (write one with: fastembody export RUN --format bundle)")
    for name in (MANIFEST_NAME, POLICY_NAME):
        if not (path / name).is_file():
            _fail(path, f"{name} is missing")
    try:
        manifest = json.loads((path / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        _fail(path, f"{MANIFEST_NAME} is not readable JSON ({' '.join(str(exc).split())})")
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        _fail(path, f"{MANIFEST_NAME} is not a {SCHEMA} manifest")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        _fail(path, f"{MANIFEST_NAME} has schema version {version!r}; this runner reads up to {SCHEMA_VERSION}: "
                    "update fastembody-deploy on the robot")
    for section in ("policy", "observation", "robot"):
        if not isinstance(manifest.get(section), dict):
            _fail(path, f"{MANIFEST_NAME} has no {section!r} section")
    missing = [k for k in ROBOT_KEYS if k not in manifest["robot"]]
    if missing:
        _fail(path, f"{MANIFEST_NAME} robot section lacks {', '.join(missing)}")
    return manifest


def load_bundle(path: Union[str, Path], num_joints: int = 12) -> Bundle:
    """Read and check a bundle for a robot with ``num_joints`` joints: schema, joint count, terms the runner can
    measure, the policy file's hash and its ONNX inputs / outputs against the manifest."""
    path = Path(path)
    manifest = read_manifest(path)
    robot, observation, policy = manifest["robot"], manifest["observation"], manifest["policy"]
    joints = len(robot["joint_names"])
    if joints != num_joints:
        _fail(path, f"the policy drives {joints} joints, the robot has {num_joints}")
    terms = [str(t) for t in observation.get("terms", [])]
    unknown = [t for t in terms if t not in MEASURABLE_TERMS]
    if unknown:
        _fail(path, f"the policy reads {', '.join(unknown)}, which the robot cannot measure: export a policy that "
                    f"reads only {', '.join(MEASURABLE_TERMS)} (a distilled student)")
    if int(observation.get("history_length", 1)) != 1:
        _fail(path, f"observation history_length {observation.get('history_length')} is not supported by this "
                    "runner (1 only)")
    described = robot["observation_terms"]
    lost = [t for t in terms if t not in described]
    if lost:
        _fail(path, f"the manifest's robot section does not describe observation term(s) {lost}")
    dims = {t: int(described[t]["dim"]) for t in terms}
    if sum(dims.values()) != int(observation.get("dim", -1)):
        _fail(path, f"observation terms {terms} are {sum(dims.values())} wide, the manifest says "
                    f"{observation.get('dim')}")
    scales = {t: np.broadcast_to(np.asarray(described[t].get("scale", 1.0), dtype=np.float64), (dims[t],)).copy()
              for t in terms}
    if _sha256(path / POLICY_NAME) != policy.get("sha256"):
        _fail(path, f"{POLICY_NAME} is not the file the manifest describes (sha256 differs): the weights changed")

    def array(key: str) -> np.ndarray:
        value = np.asarray(robot[key], dtype=np.float64)
        if value.shape != (num_joints,):
            _fail(path, f"robot.{key} has shape {list(value.shape)}, expected [{num_joints}]")
        return value

    maps = {}
    for key in ("policy_from_sdk", "sdk_from_policy"):
        value = np.asarray(robot[key], dtype=np.int64)
        if sorted(value.tolist()) != list(range(num_joints)):
            _fail(path, f"robot.{key} is not a permutation of 0..{num_joints - 1}")
        maps[key] = value
    if not np.array_equal(maps["policy_from_sdk"][maps["sdk_from_policy"]], np.arange(num_joints)):
        _fail(path, "robot.policy_from_sdk and robot.sdk_from_policy are not inverse maps")
    falls = robot["fall_limits"]
    return Bundle(
        path=path, manifest=manifest, terms=terms, term_dims=dims, term_scales=scales,
        obs_dim=int(observation["dim"]), recurrent=bool(policy.get("recurrent")),
        state_shape=policy.get("state_shape"), policy_from_sdk=maps["policy_from_sdk"],
        sdk_from_policy=maps["sdk_from_policy"], default_joint_pos=array("default_joint_pos"),
        joint_lower=array("joint_lower"), joint_upper=array("joint_upper"), kp=float(robot["kp"]),
        kd=float(robot["kd"]), action_scale=float(robot["action_scale"]), clip_actions=float(robot["clip_actions"]),
        clip_observations=float(robot["clip_observations"]), control_dt=float(robot["control_dt"]),
        command_ranges={k: [float(x) for x in v] for k, v in robot["command_ranges"].items()},
        max_tilt=float(min(falls.get("max_roll", 1.0), falls.get("max_pitch", 1.0))),
    )


class OnnxPolicy:
    """The bundle's policy in onnxruntime: ``act(obs[obs_dim]) -> actions[12]`` (policy joint order), carrying a
    recurrent policy's state between calls; ``reset()`` zeroes it."""

    def __init__(self, bundle: Bundle):
        try:
            import onnxruntime
        except ImportError:
            raise DeployError("the runner needs onnxruntime: pip install onnxruntime") from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one small MLP/GRU per control period: threads only add jitter
        try:
            self.session = onnxruntime.InferenceSession(str(bundle.policy_file), options,
                                                        providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for a damaged file
            _fail(bundle.path, f"{POLICY_NAME} does not load in onnxruntime ({' '.join(str(exc).split())[:160]})")
        inputs = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        policy = bundle.manifest["policy"]
        if inputs != policy.get("inputs") or outputs != policy.get("outputs"):
            _fail(bundle.path, f"{POLICY_NAME} has inputs {inputs} / outputs {outputs}, the manifest says "
                               f"{policy.get('inputs')} / {policy.get('outputs')}")
        width = self.session.get_inputs()[0].shape[-1]
        if width != bundle.obs_dim:
            _fail(bundle.path, f"{POLICY_NAME} reads {width} observations, the manifest says {bundle.obs_dim}")
        self.recurrent = bundle.recurrent
        self._state_shape = [int(s) for s in bundle.state_shape] if bundle.recurrent else None
        self.state: Optional[np.ndarray] = None
        self.reset()

    def reset(self) -> None:
        """Zero the recurrent state (at every (re)entry into the policy state)."""
        self.state = np.zeros(self._state_shape, dtype=np.float32) if self._state_shape else None

    def act(self, obs: np.ndarray) -> np.ndarray:
        feeds = {"obs": np.asarray(obs, dtype=np.float32).reshape(1, -1)}
        if self.state is not None:
            feeds["h_in"] = self.state
        result = self.session.run(None, feeds)
        if self.state is not None:
            self.state = result[1]
        return np.asarray(result[0], dtype=np.float64).reshape(-1)
