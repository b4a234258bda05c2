import sys
from pathlib import Path

import torch

# Before any parallel torch op: OpenMP worker threads inherit flush-to-zero only if it is set before they start.
torch.set_flush_denormal(True)

sys.path.insert(0, str(Path(__file__).parent))  # for `from isaac_testing import ...`
