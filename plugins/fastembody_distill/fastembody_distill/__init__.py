"""FastEmbody distillation: a frozen PPO teacher labels, a student that reads only deployable observations learns.

Registers the algorithm ``distillation`` (see :mod:`fastembody_distill.plugin`). Importing this package is
torch-free; the algorithm lives in :mod:`fastembody_distill.distillation`.
"""
__version__ = "0.1.0"
