import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # for `from ppo_testing import ...`

from ppo_testing import PointMassEnv  # noqa: E402


@pytest.fixture
def env() -> PointMassEnv:
    torch.manual_seed(0)
    e = PointMassEnv()
    e.reset()
    return e
