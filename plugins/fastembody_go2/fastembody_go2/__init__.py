"""fastembody-go2: Unitree Go2 locomotion envs for FastEmbody.

``go2-toy`` is a fast batched pure-PyTorch Go2 (``fastembody_go2.toy``). Robot constants and the joint-order
maps between legged_gym (FL, FR, RL, RR) and the Unitree SDK (FR, FL, RR, RL) are in ``fastembody_go2.robot``;
the task's observation and reward terms, shared by every backend, in ``task``, ``observations`` and ``rewards``.
Importing this package does not import torch.
"""
__version__ = "0.1.0"
