import torch

# Before any parallel torch op: OpenMP worker threads inherit flush-to-zero only if it is set before they start.
torch.set_flush_denormal(True)
