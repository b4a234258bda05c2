"""Export a run's policy for deployment: TorchScript or ONNX, normaliser baked in, plus a JSON sidecar.

The module comes from ``algorithm.export_policy()``: a CPU ``nn.Module`` mapping the concatenated observation
groups named by its ``obs_groups`` attribute to actions. A recurrent one has ``initial_state(batch)`` and maps
``(obs, h) -> (actions, h)``. Files: ``RUN_DIR/exported/policy.onnx`` or ``policy.pt`` and, beside it,
``policy.onnx.json`` / ``policy.pt.json`` (format, observation groups and sizes, action size, joint order...).
Every export is checked against the torch module on a random batch (ONNX through onnxruntime if installed).
"""
import inspect
import json
import math
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch

from . import __version__
from .checkpoint import atomic_write, to_plain
from .contracts import DEPLOYMENT_ATTRIBUTES
from .errors import ConfigError, FastEmbodyError
from .evaluation import LoadedRun, load_run
from .resources import writing

FORMATS = {"onnx": "policy.onnx", "torchscript": "policy.pt"}
ONNX_OPSET = 17
TOLERANCE = 1e-4

PathLike = Union[str, Path]


def _io_names(recurrent: bool) -> Tuple[List[str], List[str]]:
    return (["obs", "h_in"], ["actions", "h_out"]) if recurrent else (["obs"], ["actions"])


def _outputs(module: torch.nn.Module, inputs: Sequence[torch.Tensor]) -> List[torch.Tensor]:
    with torch.no_grad():
        out = module(*inputs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _example_inputs(module: torch.nn.Module, obs_dim: int, batch: int, seed: int) -> List[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    inputs = [torch.randn(batch, obs_dim, generator=generator)]
    if hasattr(module, "initial_state"):
        state = module.initial_state(batch)
        inputs.append(torch.randn(state.shape, generator=generator))
    return inputs


def export_torchscript(module: torch.nn.Module, example: Sequence[torch.Tensor], path: Path) -> Path:
    """``torch.jit.script`` (falling back to ``torch.jit.trace``) and save atomically."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            scripted = torch.jit.script(module)
        except Exception:  # e.g. Python-only constructs: a trace of the fixed-shape graph is enough for an MLP
            with torch.no_grad():
                scripted = torch.jit.trace(module, tuple(example))
        atomic_write(path, lambda f: torch.jit.save(scripted, f), what="TorchScript policy")
    return path


def export_onnx(module: torch.nn.Module, example: Sequence[torch.Tensor], path: Path, recurrent: bool) -> Path:
    """``torch.onnx.export`` with the TorchScript-based exporter (works offline; dynamo needs onnxscript),
    opset 17, dynamic batch dimension, inputs ``obs`` [, ``h_in``] and outputs ``actions`` [, ``h_out``]."""
    import importlib.util

    if importlib.util.find_spec("onnx") is None:  # torch's own message says only "Module onnx is not installed!"
        raise FastEmbodyError("ONNX export needs the onnx package: pip install 'fastembody-core[export]' "
                              "(or --format torchscript, which needs nothing more)")
    inputs, outputs = _io_names(recurrent)
    axes = {"obs": {0: "batch"}, "actions": {0: "batch"}}
    if recurrent:
        axes.update({"h_in": {1: "batch"}, "h_out": {1: "batch"}})
    kwargs: Dict[str, Any] = dict(
        input_names=inputs, output_names=outputs, dynamic_axes=axes, opset_version=ONNX_OPSET, do_constant_folding=True
    )
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:  # torch >= 2.5: keep the offline exporter
        kwargs["dynamo"] = False

    def write(f: Any) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, tuple(example), f, **kwargs)

    try:
        atomic_write(path, write, what="ONNX policy")
    except FastEmbodyError:
        raise
    except Exception as exc:
        raise FastEmbodyError(f"ONNX export to {path} failed: {type(exc).__name__}: {exc}") from exc
    return path


def _run_exported(fmt: str, path: Path, inputs: Sequence[torch.Tensor], recurrent: bool) -> Optional[List[torch.Tensor]]:
    """Outputs of the written file (None if onnxruntime is not installed)."""
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return _outputs(torch.jit.load(str(path)), inputs)
    try:
        import onnxruntime
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names, _ = _io_names(recurrent)
    feeds = {name: x.numpy() for name, x in zip(names, inputs)}
    return [torch.from_numpy(y) for y in session.run(None, feeds)]


def _sidecar(loaded: LoadedRun, module: torch.nn.Module, fmt: str, path: Path, obs_groups: List[str],
             group_dims: Dict[str, int], recurrent: bool, state_shape: Optional[List[int]], verified: bool) -> Dict[str, Any]:
    spec = loaded.env.spec()
    inputs, outputs = _io_names(recurrent)
    info: Dict[str, Any] = {
        "format": fmt,
        "file": path.name,
        "fastembody_version": __version__,
        "checkpoint": str(loaded.checkpoint),
        "iteration": int(loaded.payload["iteration"]),
        "algorithm": loaded.payload["algorithm"],
        "env": loaded.experiment.env.name,
        "obs_groups": obs_groups,
        "obs_group_dims": group_dims,
        "obs_dim": sum(group_dims.values()),
        "observation_terms": {g: list(spec.observation_terms[g]) for g in obs_groups if g in spec.observation_terms},
        "action_dim": int(loaded.env.num_actions),
        "input_names": inputs,
        "output_names": outputs,
        "recurrent": recurrent,
        "verified_against_torch": verified,
    }
    if recurrent:
        info["state_shape"] = state_shape
    if fmt == "onnx":
        info["opset"] = ONNX_OPSET
    for name in DEPLOYMENT_ATTRIBUTES:
        value = getattr(loaded.env, name, None)
        if value is not None:
            info[name] = to_plain(value.tolist() if isinstance(value, torch.Tensor) else value)
    return info


def export_run(
    run_dir: PathLike, fmt: str = "onnx", checkpoint: Optional[Union[PathLike, int]] = None,
    output: Optional[PathLike] = None,
) -> Path:
    """Export a run's policy (default: latest checkpoint) to ``RUN_DIR/exported/policy.onnx|pt`` or ``output``;
    returns the written path (a ``<file>.json`` sidecar is written beside it)."""
    if fmt == "bundle":  # a directory for a robot-side runner (bundle.py)
        from .bundle import export_bundle

        return export_bundle(run_dir, checkpoint, output)
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; allowed: {', '.join(FORMATS)}, bundle", key="format")
    loaded = load_run(run_dir, checkpoint, max_envs=1)
    try:
        module = loaded.algorithm.export_policy().cpu().float().eval()
        shapes = loaded.env.observation_shapes
    finally:
        loaded.env.close()
    obs_groups = [str(g) for g in getattr(module, "obs_groups", ["policy"])]
    missing = [g for g in obs_groups if g not in shapes]
    if missing:
        raise FastEmbodyError(f"exported policy reads observation groups {missing}; the env has {sorted(shapes)}")
    group_dims = {g: int(math.prod(shapes[g])) for g in obs_groups}
    recurrent = hasattr(module, "initial_state")
    obs_dim = sum(group_dims.values())
    path = Path(output) if output is not None else Path(run_dir) / "exported" / FORMATS[fmt]
    with writing("export folder", path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)

    example = _example_inputs(module, obs_dim, batch=1, seed=0)
    if fmt == "onnx":
        export_onnx(module, example, path, recurrent)
    else:
        export_torchscript(module, example, path)
    check = _example_inputs(module, obs_dim, batch=5, seed=1)  # another batch size: the batch axis is dynamic
    got = _run_exported(fmt, path, check, recurrent)
    if got is not None:
        for want, have in zip(_outputs(module, check), got):
            error = float((want - have).abs().max())
            if not error <= TOLERANCE:
                raise FastEmbodyError(f"exported {fmt} policy {path} differs from the torch policy by {error:.3g}")
    state_shape = list(module.initial_state(1).shape) if recurrent else None
    info = _sidecar(loaded, module, fmt, path, obs_groups, group_dims, recurrent, state_shape, got is not None)
    sidecar = path.with_name(path.name + ".json")
    atomic_write(sidecar, lambda f: f.write((json.dumps(info, indent=2) + "\n").encode("utf-8")), what="export sidecar")
    return path
