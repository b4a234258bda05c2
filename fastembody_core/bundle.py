"""Policy bundles: what a robot-side runner loads (``fastembody export RUN --format bundle``).

A bundle is a directory:

* ``policy.onnx``: the exported policy (normaliser inside; a recurrent policy's state as explicit ``h_in`` /
  ``h_out``), inputs ``obs`` [, ``h_in``], outputs ``actions`` [, ``h_out``];
* ``manifest.json``: schema and version, the policy file's sha256 and I/O names, the observation layout (groups
  and terms in order, their total width), the run and checkpoint it came from, and under ``"robot"`` the env's
  :meth:`~fastembody_core.contracts.DeployableEnv.deployment_info` (joint order and map, default pose, gains,
  action scale, control period, term scales, command ranges);
* ``selfcheck.npz``: observations recorded in the training env with the policy acting, and the torch policy's
  actions for them.

:func:`verify_bundle` (numpy + onnxruntime only, no torch) checks a bundle against its manifest and replays the
recording through onnxruntime; ``export`` writes a bundle into a temporary folder, verifies it and only then moves
it into place, so a bundle that fails its own check is never written.
"""
import hashlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

SCHEMA = "fastembody.bundle"
SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
POLICY_NAME = "policy.onnx"
SELFCHECK_NAME = "selfcheck.npz"
SELFCHECK_STEPS = 100
"""Policy steps recorded for the self-check (in each of ``SELFCHECK_ENVS`` envs)."""
SELFCHECK_ENVS = 4
TOLERANCE = 1e-4
"""Largest allowed |action difference| between onnxruntime and torch on the recording."""

PathLike = Union[str, Path]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def _fail(bundle: Path, message: str) -> None:
    from .errors import FastEmbodyError

    raise FastEmbodyError(f"bundle {bundle}: {message}")


def read_manifest(bundle: PathLike) -> Dict[str, Any]:
    """The bundle's manifest, checked for the files and the schema this reader understands (one line if not)."""
    bundle = Path(bundle)
    if not bundle.is_dir():
        _fail(bundle, "not a directory (export one with: fastembody export RUN --format bundle)")
    for name in (MANIFEST_NAME, POLICY_NAME, SELFCHECK_NAME):
        if not (bundle / name).is_file():
            _fail(bundle, f"{name} is missing")
    try:
        manifest = json.loads((bundle / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(bundle, f"{MANIFEST_NAME} is not readable JSON ({exc})")
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        _fail(bundle, f"{MANIFEST_NAME} is not a {SCHEMA} manifest")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        _fail(bundle, f"{MANIFEST_NAME} has schema version {version!r}; this reader understands up to "
                      f"{SCHEMA_VERSION}: update fastembody")
    return manifest


def verify_bundle(bundle: PathLike, tolerance: float = TOLERANCE) -> Dict[str, Any]:
    """Check the policy's hash, its I/O against the manifest, the observation layout against the terms' widths,
    and replay the recording through onnxruntime; returns ``{"max_abs_diff": ..., "steps": ...}`` or raises a
    FastEmbodyError naming what does not match."""
    import numpy as np

    try:
        import onnxruntime
    except ImportError:
        from .errors import FastEmbodyError

        raise FastEmbodyError('checking a bundle needs onnxruntime: pip install "fastembody-core[export]"') from None
    bundle = Path(bundle)
    manifest = read_manifest(bundle)
    policy = manifest["policy"]
    if _sha256(bundle / POLICY_NAME) != policy["sha256"]:
        _fail(bundle, f"{POLICY_NAME} is not the file the manifest describes (sha256 differs): the weights changed")
    observation = manifest["observation"]
    terms = manifest.get("robot", {}).get("observation_terms", {})
    missing = [t for t in observation["terms"] if t not in terms]
    if missing:
        _fail(bundle, f"the manifest's robot section does not describe observation term(s) {missing}")
    width = sum(int(terms[t]["dim"]) for t in observation["terms"])
    if width != int(observation["dim"]):
        _fail(bundle, f"observation terms {observation['terms']} are {width} wide, the policy reads "
                      f"{observation['dim']}")
    session = onnxruntime.InferenceSession(str(bundle / POLICY_NAME), providers=["CPUExecutionProvider"])
    inputs = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]
    if inputs != policy["inputs"] or outputs != policy["outputs"]:
        _fail(bundle, f"{POLICY_NAME} has inputs {inputs} / outputs {outputs}, the manifest says "
                      f"{policy['inputs']} / {policy['outputs']}")
    shape = session.get_inputs()[0].shape
    if shape[-1] != int(observation["dim"]):
        _fail(bundle, f"{POLICY_NAME} reads {shape[-1]} observations, the manifest says {observation['dim']}")
    record = np.load(bundle / SELFCHECK_NAME)
    obs, actions = record["obs"], record["actions"]
    state = record["h0"] if policy["recurrent"] else None
    worst = 0.0
    for t in range(obs.shape[0]):
        feeds = {"obs": obs[t].astype(np.float32)}
        if state is not None:
            feeds["h_in"] = state.astype(np.float32)
        result = session.run(None, feeds)
        if state is not None:
            state = result[1]
        worst = max(worst, float(np.abs(result[0] - actions[t]).max()))
    if not worst <= tolerance:
        _fail(bundle, f"{POLICY_NAME} gives actions up to {worst:.3g} away from the torch policy on the recorded "
                      f"observations (tolerance {tolerance:g})")
    return {"max_abs_diff": worst, "steps": int(obs.shape[0]), "envs": int(obs.shape[1])}


def export_bundle(run_dir: PathLike, checkpoint: Optional[Union[PathLike, int]] = None,
                  output: Optional[PathLike] = None, steps: int = SELFCHECK_STEPS) -> Path:
    """Write ``RUN_DIR/exported/bundle`` (or ``output``): the policy, the manifest and the recording, verified
    before it is moved into place. The run's env must implement ``DeployableEnv``."""
    import numpy as np
    import torch

    from . import __version__
    from .checkpoint import to_plain
    from .contracts import COMPILE_PARAM, DeployableEnv, require_capability
    from .evaluation import load_run
    from .export import export_onnx
    from .resources import writing

    run_dir = Path(run_dir)
    target = Path(output) if output is not None else run_dir / "exported" / "bundle"
    loaded = load_run(run_dir, checkpoint, num_envs=SELFCHECK_ENVS, env_params={COMPILE_PARAM: False})
    env, algorithm = loaded.env, loaded.algorithm
    try:
        name = loaded.experiment.env.name
        require_capability(env, DeployableEnv, name, "export --format bundle has no robot description to write")
        robot = to_plain(env.deployment_info())
        module = algorithm.export_policy().cpu().float().eval()
        groups = [str(g) for g in getattr(module, "obs_groups", ["policy"])]
        recurrent = hasattr(module, "initial_state")
        spec = env.spec()
        terms: List[str] = [t for g in groups for t in spec.observation_terms.get(g, ())]
        obs_dim = sum(int(math.prod(spec.observation_shapes[g])) for g in groups)
        # the recording: the policy acts in the training env (its own noise and resets), torch labels every step
        observations, labels = [], []
        h = module.initial_state(env.num_envs) if recurrent else None
        h0 = h.clone() if recurrent else None
        obs = env.reset()
        with torch.inference_mode():
            for _ in range(int(steps)):
                flat = torch.cat([obs[g].reshape(env.num_envs, -1) for g in groups], dim=-1).detach().cpu().float()
                out = module(flat, h) if recurrent else module(flat)
                actions, h = (out[0], out[1]) if recurrent else (out, None)
                observations.append(flat.numpy().copy())
                labels.append(actions.numpy().copy())
                obs, _, dones, _ = env.step(actions.to(getattr(env, "device", "cpu")))
                if recurrent and bool(dones.any()):  # the runner resets its state at a reset too: keep it simple
                    h = h * (~dones.cpu().bool()).float().view(1, -1, 1)
    finally:
        env.close()
    with writing("bundle folder", target.parent):
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        example = [torch.zeros(1, obs_dim)] + ([module.initial_state(1)] if recurrent else [])
        export_onnx(module, example, staging / POLICY_NAME, recurrent)
        record: Dict[str, Any] = {"obs": np.stack(observations), "actions": np.stack(labels)}
        if recurrent:
            record["h0"] = h0.numpy()
        with writing("bundle self-check recording", staging):
            np.savez_compressed(staging / SELFCHECK_NAME, **record)
        payload = loaded.payload
        manifest = {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "created_by": f"fastembody-core {__version__}",
            "run": {"dir": str(run_dir), "checkpoint": str(loaded.checkpoint), "iteration": payload.get("iteration"),
                    "algorithm": payload.get("algorithm"), "env": name},
            "policy": {"file": POLICY_NAME, "sha256": _sha256(staging / POLICY_NAME),
                       "inputs": ["obs", "h_in"] if recurrent else ["obs"],
                       "outputs": ["actions", "h_out"] if recurrent else ["actions"],
                       "recurrent": recurrent, "action_dim": int(env.num_actions),
                       "state_shape": list(module.initial_state(1).shape) if recurrent else None},
            "observation": {"groups": groups, "terms": terms, "dim": obs_dim, "history_length": 1},
            "robot": robot,
        }
        with writing("bundle manifest", staging):
            (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        verify_bundle(staging)
        with writing("bundle folder", target):
            if target.exists():
                old = target.with_name(f".{target.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(target, old)
                os.replace(staging, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
