"""The optimiser every built-in algorithm uses: Adam, with torch's fused kernel where this torch has one."""
from typing import Any, Iterable, Mapping

import torch

_KERNEL_KEYS = ("fused", "foreach")  # how a param group's step runs: this process's choice, not a checkpoint's


def make_adam(parameters: Iterable[torch.Tensor], lr: float) -> torch.optim.Optimizer:
    """``torch.optim.Adam(parameters, lr)`` with ``fused=True`` when this torch fuses Adam for the parameters'
    device (CPU from torch 2.4, CUDA from 2.0): one kernel per tensor instead of ~10 ops, the same maths. Older
    torch (the Isaac Gym path) gets the plain for-loop Adam."""
    params = list(parameters)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device / torch
        return torch.optim.Adam(params, lr=lr)


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: Mapping[str, Any]) -> None:
    """``optimizer.load_state_dict(state)`` keeping this process's kernel choice (``fused`` / ``foreach``): torch
    would take the checkpoint's, which another torch or device may not have."""
    own = [{k: group.get(k) for k in _KERNEL_KEYS} for group in optimizer.param_groups]
    optimizer.load_state_dict(dict(state))
    for group, kernel in zip(optimizer.param_groups, own):
        group.update(kernel)
