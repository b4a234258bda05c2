"""A trained policy network carried from one run into another (e.g. PPO fine-tuning of a distilled student).

An algorithm state carries its policy as plain data in one of two layouts:

- ``state["policy"] = {"model_spec": <policy_spec>, "model_state": <MLPModel state_dict>}``: what any algorithm
  whose policy is a plain :class:`~fastembody_core.nn.MLPModel` writes (the distillation student does);
- ``state["model_spec"]`` + ``state["actor_state"]``: a :class:`~fastembody_core.nn.GaussianActor` (PPO's layout),
  whose ``model.*`` entries are the network.

:func:`load_trained_policy` puts such a network into a model of the same architecture.
"""
from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

import torch
from torch import nn

from .checkpoint import checkpoint_file, load_checkpoint
from .errors import CheckpointError
from .nn import load_module_state

POLICY_KEY = "policy"
ARCHITECTURE_KEYS = ("obs_groups", "obs_dim", "num_actions", "hidden_dims", "activation", "obs_normalization",
                     "rnn_type", "rnn_hidden_size", "rnn_num_layers")
"""What must agree between the stored policy and the model it starts (the std is not part of the network)."""


def policy_record(model_spec: Mapping[str, Any], model: nn.Module) -> Dict[str, Any]:
    """``state["policy"]`` for an algorithm state: the network's architecture and weights as plain data."""
    return {"model_spec": dict(model_spec), "model_state": dict(model.state_dict())}


def trained_policy(algorithm_state: Mapping[str, Any]) -> Tuple[Dict[str, Any], Dict[str, torch.Tensor]]:
    """``(model_spec, MLPModel state)`` of the policy an algorithm state carries; CheckpointError if none."""
    record = algorithm_state.get(POLICY_KEY)
    if isinstance(record, Mapping) and "model_spec" in record and "model_state" in record:
        return dict(record["model_spec"]), dict(record["model_state"])
    if "model_spec" in algorithm_state and "actor_state" in algorithm_state:
        prefix = "model."
        state = {k[len(prefix):]: v for k, v in algorithm_state["actor_state"].items() if k.startswith(prefix)}
        return dict(algorithm_state["model_spec"]), state
    raise CheckpointError("its algorithm state carries no policy network (neither 'policy' nor "
                          "'model_spec' + 'actor_state')")


def load_trained_policy(model: nn.Module, model_spec: Mapping[str, Any], value: str, key: str) -> Path:
    """Load the policy stored in ``value`` (a checkpoint file or run directory: its latest) into ``model`` (an
    MLPModel built from ``model_spec``). CheckpointError naming ``key`` and the path on any mismatch."""
    path = checkpoint_file(value, key)
    payload = load_checkpoint(path, map_location="cpu")
    try:
        spec, state = trained_policy(payload["algorithm_state"])
    except CheckpointError as exc:
        raise CheckpointError(f"{key}: {path} (algorithm {payload['algorithm']!r}): {exc}") from None
    differ = [f"{k}: {spec.get(k)!r} there vs {model_spec.get(k)!r} here" for k in ARCHITECTURE_KEYS
              if spec.get(k) != model_spec.get(k)]
    if differ:
        raise CheckpointError(f"{key}: the policy in {path} has another architecture ({'; '.join(differ)})")
    load_module_state(model, state, f"{key} ({path})")
    return path
