"""Checkpoints: atomic save, ``weights_only`` load, named errors.

A checkpoint is one ``torch.save`` file, ``RUN_DIR/checkpoints/model_<iteration>.pt``, holding a dict of plain
data and tensors only (so it loads with ``torch.load(weights_only=True)``)::

    {
        "format": "fastembody-checkpoint",   # identifies the file
        "version": 1,                        # payload layout version
        "iteration": int,                    # training iterations completed
        "algorithm": str,                    # registered algorithm name, e.g. "ppo"
        "algorithm_state": dict,             # AlgorithmHandle.state_dict(): networks, optimiser, normaliser, ...
        "env_state": dict,                   # VectorEnv.state_dict() ({} if the env does not support it)
        "trainer_state": dict,               # RNG states (python/numpy/torch[/cuda]), counters, episode stats
        "config": dict,                      # the resolved experiment config as plain data
        "digest": "sha256:<hex>",            # of everything above, tensors byte for byte (version >= 2)
    }

Every load recomputes the digest (a flipped bit anywhere in the data is a CheckpointError naming the file);
version-1 files, written before digests, load unchecked. Writes go to a temporary file in the same directory, are fsync'ed, then ``os.replace``'d over the target, so a
crash never leaves a half-written ``model_<n>.pt``. Tensors in ``algorithm_state`` must be finite: a NaN model
is never written.
"""
import hashlib
import inspect
import math
import os
import re
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch

from .errors import CheckpointError, TrainingError
from .resources import atomic_write  # noqa: F401 - part of this module's API (export uses it)

CHECKPOINT_FORMAT = "fastembody-checkpoint"
CHECKPOINT_VERSION = 2
"""2: carries ``digest``. Version 1 (no digest) still loads."""
DIGEST_KEY = "digest"
CHECKPOINT_DIR = "checkpoints"
REQUIRED_KEYS = ("iteration", "algorithm", "algorithm_state")

_CHECKPOINT_NAME = re.compile(r"^model_(\d+)\.pt$")
PathLike = Union[str, "os.PathLike[str]"]


def checkpoint_path(run_dir: PathLike, iteration: int) -> Path:
    """``RUN_DIR/checkpoints/model_<iteration>.pt``."""
    return Path(run_dir) / CHECKPOINT_DIR / f"model_{int(iteration)}.pt"


def list_checkpoints(run_dir: PathLike) -> List[Tuple[int, Path]]:
    """``(iteration, path)`` of every ``model_<n>.pt`` in ``RUN_DIR/checkpoints``, oldest first."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        match = _CHECKPOINT_NAME.match(entry.name)
        if match and entry.is_file():
            found.append((int(match.group(1)), entry))
    return sorted(found)


def latest_checkpoint(run_dir: PathLike) -> Path:
    """The checkpoint with the highest iteration in ``RUN_DIR/checkpoints``; CheckpointError if there is none."""
    found = list_checkpoints(run_dir)
    if not found:
        raise CheckpointError(
            f"no checkpoint in {Path(run_dir) / CHECKPOINT_DIR} (expected files named model_<iteration>.pt)"
        )
    return found[-1][1]


def resolve_checkpoint(run_dir: PathLike, checkpoint: Optional[Union[PathLike, int]] = None) -> Path:
    """Which checkpoint a command means: None -> the latest; an int or digits -> ``model_<n>.pt``; else a path
    (absolute, relative to the working directory, or relative to ``RUN_DIR`` / ``RUN_DIR/checkpoints``)."""
    if checkpoint is None:
        return latest_checkpoint(run_dir)
    if isinstance(checkpoint, int) or str(checkpoint).isdigit():  # click hands --checkpoint 5 over as Path("5")
        iteration = int(str(checkpoint))
        path = checkpoint_path(run_dir, iteration)
        if not path.is_file():
            have = ", ".join(str(i) for i, _ in list_checkpoints(run_dir)) or "none"
            raise CheckpointError(f"no checkpoint for iteration {iteration} at {path} (iterations saved: {have})")
        return path
    candidates = [Path(checkpoint), Path(run_dir) / checkpoint, Path(run_dir) / CHECKPOINT_DIR / checkpoint]
    for path in candidates:
        if path.is_file():
            return path
    raise CheckpointError(f"checkpoint {checkpoint} not found (looked in ., {run_dir} and {Path(run_dir) / CHECKPOINT_DIR})")


def checkpoint_file(value: PathLike, key: str, hint: str = "") -> Path:
    """The checkpoint file a config value means (``teacher_checkpoint``, ``init_checkpoint``): the file itself, or
    a run directory's latest. CheckpointError naming ``key`` and the path (plus ``hint``) when there is none."""
    path = Path(value).expanduser()
    if path.is_dir():
        try:
            return latest_checkpoint(path)
        except CheckpointError:
            raise CheckpointError(
                f"{key}: run directory {path} holds no checkpoint (expected checkpoints/model_<N>.pt)") from None
    if not path.is_file():
        raise CheckpointError(f"{key}: checkpoint {path} does not exist{'; ' + hint if hint else ''}")
    return path


def load_checkpoint_of(path: PathLike, algorithm: str, map_location: Any = "cpu", where: str = "this run") -> Dict[str, Any]:
    """:func:`load_checkpoint`, then CheckpointError unless algorithm ``algorithm`` wrote it (the one such check of
    eval, export, play, ``--resume`` and ``init_checkpoint``)."""
    return check_written_by(load_checkpoint(path, map_location=map_location), path, algorithm, where)


def check_written_by(payload: Dict[str, Any], path: PathLike, algorithm: str, where: str = "this run") -> Dict[str, Any]:
    """``payload`` if algorithm ``algorithm`` wrote it, else CheckpointError naming both."""
    if payload["algorithm"] != algorithm:
        raise CheckpointError(f"{path} was written by algorithm {payload['algorithm']!r}, {where} uses {algorithm!r}")
    return payload


def first_non_finite(obj: Any, prefix: str = "") -> Optional[str]:
    """The dotted key of the first floating tensor (or float) in ``obj`` holding NaN/inf, else None."""
    if isinstance(obj, torch.Tensor):
        if obj.is_floating_point() and obj.numel() and not bool(torch.isfinite(obj).all()):
            return prefix or "<tensor>"
        return None
    if isinstance(obj, float):
        return None if math.isfinite(obj) else (prefix or "<value>")
    if isinstance(obj, Mapping):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    else:
        return None
    for key, value in items:
        bad = first_non_finite(value, f"{prefix}.{key}" if prefix else str(key))
        if bad is not None:
            return bad
    return None


def save_checkpoint(path: PathLike, payload: Mapping[str, Any], check_finite: bool = True) -> Path:
    """Atomically write ``payload`` (see the module docstring) to ``path``; fills in ``format`` and ``version``.

    Raises TrainingError (writing nothing) when ``check_finite`` and ``algorithm_state`` holds NaN/inf.
    """
    path = Path(path)
    missing = [k for k in REQUIRED_KEYS if k not in payload]
    if missing:
        raise CheckpointError(f"refusing to write {path}: payload lacks {missing}")
    if check_finite:
        bad = first_non_finite(payload["algorithm_state"])
        if bad is not None:
            raise TrainingError(
                f"refusing to write checkpoint {path}: algorithm_state.{bad} holds NaN/inf "
                f"(iteration {payload['iteration']})"
            )
    data = {k: v for k, v in payload.items() if k != DIGEST_KEY}
    data["format"] = CHECKPOINT_FORMAT
    data["version"] = CHECKPOINT_VERSION
    data[DIGEST_KEY] = payload_digest(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: torch.save(data, f), what=f"checkpoint (iteration {payload['iteration']})")
    return path


def payload_digest(data: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of a checkpoint payload without its ``digest`` key: every key, value and tensor byte, in
    order (dicts keep their order through ``torch.save`` / ``torch.load``)."""
    h = hashlib.sha256()
    items = [(k, v) for k, v in data.items() if k != DIGEST_KEY]
    h.update(b"D%d;" % len(items))
    for key, value in items:
        _feed(h, key)
        _feed(h, value)
    return "sha256:" + h.hexdigest()


def _feed(h: Any, obj: Any) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach()
        h.update(f"T{t.dtype}{tuple(t.shape)};".encode())
        if t.numel():
            flat = t.reshape(-1).cpu().contiguous()
            h.update(memoryview(flat.view(torch.uint8).numpy()))
    elif isinstance(obj, Mapping):
        h.update(b"D%d;" % len(obj))
        for key, value in obj.items():
            _feed(h, key)
            _feed(h, value)
    elif isinstance(obj, (list, tuple)):
        h.update(b"L%d;" % len(obj))
        for value in obj:
            _feed(h, value)
    else:  # str, int, float, bool, None (and dtypes and the like, by their str)
        text = (repr(obj) if obj is None or isinstance(obj, (bool, int, float, str)) else str(obj))
        raw = text.encode("utf-8", "surrogatepass")
        h.update(f"{type(obj).__name__}{len(raw)}:".encode() + raw)


def _torch_load(path: Path, map_location: Any) -> Any:
    if "weights_only" in inspect.signature(torch.load).parameters:  # torch >= 1.13
        return torch.load(str(path), map_location=map_location, weights_only=True)
    return torch.load(str(path), map_location=map_location)  # pragma: no cover - torch < 1.13


def load_checkpoint(path: PathLike, map_location: Any = "cpu") -> Dict[str, Any]:
    """Load and check a FastEmbody checkpoint; CheckpointError if missing, corrupt, truncated or foreign."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is not a file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (an interrupted copy?)")
    if not zipfile.is_zipfile(str(path)):  # torch.save writes a zip archive; its directory sits at the end
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated (not a complete torch zip archive)")
    try:
        data = _torch_load(path, map_location)
    except Exception as exc:
        text = " ".join(str(exc).split())
        if "weights only load failed" in text.lower() or "weights_only" in text.lower():
            raise CheckpointError(
                f"checkpoint {path} holds objects other than tensors and plain data; refusing to unpickle it "
                f"(FastEmbody checkpoints load with torch.load(weights_only=True))"
            ) from exc
        raise CheckpointError(
            f"checkpoint {path} is corrupt or truncated ({type(exc).__name__}: {text[:160]})"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        keys = sorted(str(k) for k in data)[:8] if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"{path} is not a FastEmbody checkpoint (format key missing; found {keys})")
    version = data.get("version")
    if not isinstance(version, int) or version > CHECKPOINT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has version {version!r}; this FastEmbody reads versions <= {CHECKPOINT_VERSION}"
        )
    stored = data.pop(DIGEST_KEY, None)
    if stored is not None or version >= 2:
        problem = "has no digest" if stored is None else (
            "no longer matches the sha256 digest stored when it was written" if stored != payload_digest(data) else "")
        if problem:
            raise CheckpointError(f"checkpoint {path} is corrupt: its content {problem}; use another checkpoint "
                                  f"(--checkpoint N; --resume skips it)")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {missing}")
    data.setdefault("env_state", {})
    data.setdefault("trainer_state", {})
    data.setdefault("config", {})
    return data


def newest_intact_checkpoint(run_dir: PathLike, map_location: Any = "cpu") -> Tuple[Path, Dict[str, Any], List[str]]:
    """The newest checkpoint that loads and passes its digest check, its payload, and one line per newer one
    skipped (why); CheckpointError if there is none (naming each failure)."""
    skipped: List[str] = []
    for _, path in reversed(list_checkpoints(run_dir)):
        try:
            return path, load_checkpoint(path, map_location=map_location), skipped
        except CheckpointError as exc:
            skipped.append(str(exc))
    if not skipped:
        latest_checkpoint(run_dir)  # raises "no checkpoint in ..."
    raise CheckpointError(f"no intact checkpoint in {Path(run_dir) / CHECKPOINT_DIR}: {' | '.join(skipped)}")


def to_plain(obj: Any) -> Any:
    """Config-like data as dicts, lists, str, int, float, bool and None (what ``weights_only`` loads)."""
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_plain(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return to_plain(dataclasses.asdict(obj))
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        return obj.item()  # numpy / torch scalars
    return str(obj)  # Path, enums, ...


def capture_rng_state() -> Dict[str, Any]:
    """Python, NumPy and torch (CPU and, if initialised, CUDA) RNG states as tensors and plain data."""
    import random

    import numpy as np

    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: Dict[str, Any] = {
        "python": {"version": version, "internal": list(internal), "gauss": gauss},
        "numpy": {
            "name": str(name),
            "keys": [int(k) for k in keys],
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`capture_rng_state` captured (missing parts are left alone)."""
    import random

    import numpy as np

    if "python" in state:
        py = state["python"]
        random.setstate((py["version"], tuple(py["internal"]), py["gauss"]))
    if "numpy" in state:
        nps = state["numpy"]
        keys = np.asarray(nps["keys"], dtype=np.uint32)
        np.random.set_state((nps["name"], keys, nps["pos"], nps["has_gauss"], nps["cached_gaussian"]))
    if "torch" in state:
        torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
