"""What both trackers need: the run's tags and name, the config flattened, a one-line missing-package error."""
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Tuple

from fastembody_core import PluginError


def require(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise PluginError(f"logger {extra!r} needs the {module} package ({exc}): "
                          f"pip install 'fastembody-trackers[{extra}]'") from None


def run_tags(ctx: Any) -> Dict[str, str]:
    run = ctx.config.get("run") or {}
    return {str(k): str(v) for k, v in (run.get("tags") or {}).items()}


def run_name(ctx: Any) -> str:
    """``<sweep>-t<trial>-s<seed>`` for a sweep's trial, else the run dir's name (its timestamp)."""
    tags = run_tags(ctx)
    if "sweep" in tags and "trial" in tags:
        return f"{tags['sweep']}-t{tags['trial']}-s{tags.get('seed', ctx.seed)}"
    return Path(ctx.run_dir).name if ctx.run_dir is not None else str(ctx.config.get("name", "run"))


def flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[Tuple[str, Any]]:
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            yield from flatten(value, name)
        else:
            yield name, value
