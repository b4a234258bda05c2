import sys
from pathlib import Path

import pytest
import torch

from fastembody_core.testing import learning_seed

sys.path.insert(0, str(Path(__file__).parent))  # for `from ppo_testing import ...`

from ppo_testing import point_mass  # noqa: E402

from fastembody_example_pointmass.env import PointMassEnv  # noqa: E402


@pytest.fixture
def env() -> PointMassEnv:
    seed = learning_seed(0)
    torch.manual_seed(seed)
    return point_mass(seed=seed)
