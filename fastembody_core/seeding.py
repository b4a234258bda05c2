"""Seeding and CPU numerics guards shared by every run."""
import os
import random


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    import numpy as np
    import torch

    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def guard_cpu_denormals() -> None:
    """Flush float32 denormals to zero on CPU: batched envs otherwise slow down ~200x after a few hundred steps."""
    import torch

    torch.set_flush_denormal(True)
