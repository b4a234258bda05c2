"""go2-toy: a batched pure-PyTorch Unitree Go2 (see docs/go2_toy.md). ``Go2ToyEnv`` is in ``.env``."""
