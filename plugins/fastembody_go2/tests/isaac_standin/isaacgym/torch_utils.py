"""Stand-in of ``isaacgym.torch_utils`` (the helpers legged_gym star-imports); it imports torch."""
import os

import numpy as np
import torch

if os.environ.get("STANDIN_OLD_NUMPY") == "1":
    _DEFAULT_FLOAT = np.float  # Isaac Gym Preview 4 uses this alias, removed in NumPy 1.24 (AttributeError)


def torch_rand_float(lower: float, upper: float, shape: tuple, device: str) -> torch.Tensor:
    return (upper - lower) * torch.rand(*shape, device=device) + lower


def to_torch(x, dtype=torch.float, device="cuda:0", requires_grad=False) -> torch.Tensor:  # noqa: ANN001
    return torch.tensor(x, dtype=dtype, device=device, requires_grad=requires_grad)
