import sys
from pathlib import Path

import pytest
import torch

from fastembody_core.testing import learning_seed

sys.path.insert(0, str(Path(__file__).parent))  # for `from ppo_testing import ...`

from ppo_testing import PointMassEnv  # noqa: E402


@pytest.fixture
def env() -> PointMassEnv:
    seed = learning_seed(0)
    torch.manual_seed(seed)
    e = PointMassEnv(seed=seed)
    e.reset()
    return e
