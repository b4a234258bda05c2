"""Play a trained policy in one env, print metrics, optionally record a video (``fastembody play``).

The env is the run's own or another registered one (``env_name``, e.g. ``go2-mujoco`` for a go2-toy run): the
run's env params are carried over wherever the other env has a field of the same name (the rest keep their
defaults), then ``--set`` overrides apply, and ``num_envs`` becomes 1. The policy is the run's latest (or a
chosen) checkpoint through ``algorithm.act_inference``, or an exported ONNX file through onnxruntime.

Optional env capabilities play uses (protocols in :mod:`.contracts`, checked with ``isinstance``):

* :class:`~.contracts.CommandableEnv` (``set_command((vx, vy, yaw_rate))``) fixes the command (``--command``;
  without it, one line naming the env and the capability);
* :class:`~.contracts.VelocityTrackingEnv` (``base_lin_vel``, ``commands``) gives speed and tracking error;
* :class:`~.contracts.RenderableEnv` (``render(env_id=0, width=..., height=...) -> uint8 [H, W, 3]``) gives
  video frames.

A video is an MP4 (imageio + imageio-ffmpeg) plus a PNG contact sheet of 8 frames; when rendering is not
possible the metrics are still returned and written next to the requested video path (``<video>.json``).
"""
import json
import math
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .contracts import (
    COMPILE_PARAM,
    NUM_ENVS_PARAM,
    CommandableEnv,
    RenderableEnv,
    VelocityTrackingEnv,
    require_capability,
)
from .errors import ConfigError, FastEmbodyError
from .resources import check_memory, writing

PathLike = Union[str, Path]
VIDEO_SIZE = (640, 480)
MAX_SECONDS = 86400.0
"""Longest playback (one day of simulated time)."""
SHEET_FRAMES = 8


def parse_command(text: str) -> Tuple[float, float, float]:
    """``"0.5,0,0"`` -> ``(0.5, 0.0, 0.0)``: forward [m/s], lateral [m/s], yaw rate [rad/s]."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise ConfigError(f"expected VX,VY,YAW as three numbers, e.g. 0.5,0,0; got {text!r}", key="--command")
    return values  # type: ignore[return-value]


class _CheckpointPolicy:
    """``algorithm.act_inference`` of a run's checkpoint (loaded by ``evaluation.load_run``, the one run loader)."""

    def __init__(self, loaded: Any):
        self.path = loaded.checkpoint
        self.algorithm = loaded.algorithm
        self.algorithm.eval_mode()
        self.algorithm.reset()

    def __call__(self, obs: Mapping[str, Any]) -> Any:
        return self.algorithm.act_inference(obs)

    def reset(self, dones: Any) -> None:
        self.algorithm.reset(dones)


class _OnnxPolicy:
    """An exported ONNX policy: inputs ``obs`` [and ``h_in``], groups from the ``<file>.json`` sidecar."""

    def __init__(self, path: Path, observation_shapes: Mapping[str, Any]):
        import numpy as np

        try:
            import onnxruntime
        except ImportError:
            raise FastEmbodyError('playing an ONNX policy needs onnxruntime: pip install "fastembody-core[export]"') from None
        if not path.is_file():
            raise ConfigError(f"ONNX file {path} not found", key="--onnx")
        self.path = path
        info = _read_sidecar(path.with_name(path.name + ".json"))
        self.groups = [str(g) for g in info.get("obs_groups", ["policy"])]
        missing = [g for g in self.groups if g not in observation_shapes]
        if missing:
            raise ConfigError(f"{path} reads observation groups {missing}; the env has {sorted(observation_shapes)}")
        try:
            self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # empty, truncated or random bytes: onnxruntime's own error types
            raise ConfigError(f"{path} is not a loadable ONNX model ({type(exc).__name__}: "
                              f"{' '.join(str(exc).split())[:160]}); export it again with fastembody export RUN",
                              key="--onnx") from None
        width = sum(int(math.prod(observation_shapes[g])) for g in self.groups)
        declared = self.session.get_inputs()[0].shape if self.session.get_inputs() else []
        if len(declared) != 2 or (isinstance(declared[1], int) and declared[1] != width):
            raise ConfigError(f"{path} takes input shape {declared}, but groups {self.groups} of this env give "
                              f"[batch, {width}]; play it in the env it was exported from", key="--onnx")
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.hidden = None
        if len(self.inputs) > 1:
            shape = info.get("state_shape") or [d if isinstance(d, int) else 1 for d in self.session.get_inputs()[1].shape]
            self.hidden = np.zeros(shape, dtype=np.float32)
        self._np = np

    def __call__(self, obs: Mapping[str, Any]) -> Any:
        import torch

        x = torch.cat([obs[g].reshape(obs[g].shape[0], -1).float().cpu() for g in self.groups], dim=-1).numpy()
        feeds = {self.inputs[0]: x}
        if self.hidden is not None:
            feeds[self.inputs[1]] = self.hidden
        out = self.session.run(None, feeds)
        if self.hidden is not None:
            self.hidden = out[1]
        return torch.from_numpy(out[0])

    def reset(self, dones: Any) -> None:
        if self.hidden is not None and bool(dones.any()):
            self.hidden = self.hidden * (~dones.cpu().numpy().reshape(1, -1, 1))


def _read_sidecar(sidecar: Path) -> Dict[str, Any]:
    """The ``<file>.json`` written beside an export ({} if there is none); ConfigError if it is unreadable."""
    if not sidecar.is_file():
        return {}
    try:
        info = json.loads(sidecar.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"sidecar {sidecar} is unreadable ({type(exc).__name__}: {' '.join(str(exc).split())[:120]}); "
                          f"export again with fastembody export RUN, or delete it", key="--onnx") from None
    groups = info.get("obs_groups", ["policy"]) if isinstance(info, dict) else None
    state = info.get("state_shape") if isinstance(info, dict) else None
    if (not isinstance(groups, list) or not groups or not all(isinstance(g, str) for g in groups)
            or (state is not None and not (isinstance(state, list) and all(isinstance(d, int) and 0 < d < 2**20
                                                                           for d in state)))):
        raise ConfigError(f"sidecar {sidecar} does not describe an export (obs_groups must be a list of names, "
                          f"state_shape a list of sizes); export again with fastembody export RUN, or delete it",
                          key="--onnx")
    return info


# -- video ---------------------------------------------------------------------------------------------------
def write_png(path: Path, image: Any) -> Path:
    """Write an RGB uint8 ``[H, W, 3]`` array as PNG (zlib only, no imaging library needed)."""
    import numpy as np

    image = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = image.shape[:2]
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    with writing("image", path):
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
                         + chunk(b"IEND", b""))
    return path


def contact_sheet(frames: Sequence[Any], count: int = SHEET_FRAMES, columns: int = 4) -> Any:
    """``count`` evenly spaced frames tiled ``columns`` wide, at half resolution."""
    import numpy as np

    picks = [frames[int(round(i))] for i in np.linspace(0, len(frames) - 1, min(count, len(frames)))]
    small = [f[::2, ::2] for f in picks]
    h, w = small[0].shape[:2]
    rows = int(math.ceil(len(small) / columns))
    sheet = np.full((rows * h, columns * w, 3), 255, dtype=np.uint8)
    for i, frame in enumerate(small):
        r, c = divmod(i, columns)
        sheet[r * h:(r + 1) * h, c * w:(c + 1) * w] = frame
    return sheet


def write_video(path: Path, frames: Sequence[Any], fps: float) -> Tuple[Path, Path]:
    """MP4 of ``frames`` (imageio + imageio-ffmpeg) and a ``<name>_sheet.png`` contact sheet."""
    sheet = write_png(path.with_name(path.stem + "_sheet.png"), contact_sheet(frames))
    try:
        import imageio
    except ImportError:
        raise FastEmbodyError(f"writing {path} needs imageio and imageio-ffmpeg: pip install imageio imageio-ffmpeg "
                              f"(the contact sheet {sheet} was written)") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            writer = imageio.get_writer(str(path), fps=fps, codec="libx264", macro_block_size=8,
                                        ffmpeg_log_level="error")
            for frame in frames:
                writer.append_data(frame)
            writer.close()
    except Exception as exc:
        raise FastEmbodyError(f"cannot write {path} ({type(exc).__name__}: {' '.join(str(exc).split())[:160]}); "
                              f"pip install imageio-ffmpeg (the contact sheet {sheet} was written)") from None
    return path, sheet


# -- playback ------------------------------------------------------------------------------------------------
def play_run(
    run_dir: PathLike,
    env_name: Optional[str] = None,
    checkpoint: Optional[Union[PathLike, int]] = None,
    onnx: Optional[PathLike] = None,
    video: Optional[PathLike] = None,
    command: Optional[Sequence[float]] = None,
    seconds: float = 10.0,
    overrides: Sequence[str] = (),
) -> Dict[str, Any]:
    """Run the policy for ``seconds`` in one env and return metrics (see the module docstring)."""
    import torch

    from .evaluation import experiment_for, load_run
    from .pipeline import build_prepared_env, make_context

    run_dir = Path(run_dir)
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and 0 < seconds <= MAX_SECONDS):
        raise ConfigError(f"must be a finite number of seconds in (0, {MAX_SECONDS}], got {seconds}", key="--seconds")
    # one env for a few hundred steps: compiling would take longer than playing
    if onnx is not None:
        experiment, dropped = experiment_for(run_dir, env_name, overrides, {NUM_ENVS_PARAM: 1, COMPILE_PARAM: False})
        env = build_prepared_env(experiment, make_context(experiment, run_dir=None, resume=False,
                                                          render=video is not None))
    else:
        loaded = load_run(run_dir, checkpoint, overrides, num_envs=1, env_name=env_name,
                          env_params={COMPILE_PARAM: False}, render=video is not None)
        experiment, env, dropped = loaded.experiment, loaded.env, loaded.dropped
    try:
        policy: Any = _OnnxPolicy(Path(onnx), env.observation_shapes) if onnx is not None else \
            _CheckpointPolicy(loaded)
        result: Dict[str, Any] = {"env": experiment.env.name, "policy": str(policy.path)}
        if dropped:
            result["params_not_carried_over"] = ", ".join(dropped)
        if command is not None:
            require_capability(env, CommandableEnv, experiment.env.name, "--command cannot fix its command")
            env.set_command(tuple(float(c) for c in command))
            result["command"] = ",".join(f"{c:g}" for c in command)
        steps = max(1, int(math.ceil(seconds / float(env.step_dt))))
        if video is not None:  # frames are kept until the video is written
            check_memory(steps * VIDEO_SIZE[0] * VIDEO_SIZE[1] * 3, f"a {seconds:g} s video ({steps} frames)",
                         "shorten --seconds")
        with torch.inference_mode():  # an env may render without MuJoCo's GL (e.g. a software renderer): try it
            metrics, frames, video_error = _rollout(env, policy, steps, video is not None)
        result.update(metrics)
    finally:
        env.close()
    if video is not None:
        video = Path(video)
        with writing("video folder", video.parent):
            video.parent.mkdir(parents=True, exist_ok=True)
        if frames:
            try:
                mp4, sheet = write_video(video, frames, fps=1.0 / float(env.step_dt))
                result["video"], result["contact_sheet"] = str(mp4), str(sheet)
            except FastEmbodyError as exc:
                video_error = str(exc)
        if video_error:
            result["video_error"] = video_error
            warnings.warn(f"no video: {video_error}", RuntimeWarning, stacklevel=2)
        metrics_file = video.with_name(video.name + ".json")
        with writing("playback metrics", metrics_file):
            metrics_file.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        result["metrics_file"] = str(metrics_file)
    return result


def _rollout(env: Any, policy: Any, steps: int, want_video: bool) -> Tuple[Dict[str, Any], List[Any], str]:
    """Step env 0 with the policy; metrics of env 0 and (optionally) one frame per policy step."""
    import torch

    frames: List[Any] = []
    video_error = ""
    speeds: List[float] = []
    errors: List[float] = []
    falls = episodes = 0
    reward_sum = 0.0

    def grab() -> None:
        nonlocal video_error
        if not want_video or video_error:
            return
        if not isinstance(env, RenderableEnv):
            video_error = f"env {type(env).__name__} has no render() method (contracts.RenderableEnv)"
            return
        try:
            frames.append(env.render(env_id=0, width=VIDEO_SIZE[0], height=VIDEO_SIZE[1]))
        except FastEmbodyError as exc:
            video_error = str(exc)

    obs = env.reset()
    grab()
    for _ in range(steps):
        obs, rewards, dones, extras = env.step(policy(obs))
        done = bool(dones.reshape(-1)[0])
        time_out = bool(extras.get("time_outs", torch.zeros_like(dones)).reshape(-1)[0])
        reward_sum += float(rewards.reshape(-1)[0])
        tracking = isinstance(env, VelocityTrackingEnv)
        lin_vel, commands = (env.base_lin_vel, env.commands) if tracking else (None, None)
        if lin_vel is not None and not done:
            speeds.append(float(torch.norm(lin_vel[0, :2])))
            if commands is not None:
                errors.append(float(torch.norm(commands[0, :2].to(lin_vel.device) - lin_vel[0, :2])))
        if done:
            episodes += 1
            falls += int(not time_out)
            policy.reset(dones.reshape(-1).bool())
        grab()
    metrics: Dict[str, Any] = {"steps": steps, "seconds": steps * float(env.step_dt), "falls": falls,
                               "episodes_ended": episodes, "mean_reward": reward_sum / steps}
    if speeds:
        metrics["mean_speed"] = sum(speeds) / len(speeds)
    if errors:
        metrics["mean_tracking_error"] = sum(errors) / len(errors)
    return metrics, frames, video_error
