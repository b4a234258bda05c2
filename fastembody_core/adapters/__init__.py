"""Adapters that present FastEmbody envs to other frameworks (each imports its framework lazily).

* :mod:`fastembody_core.adapters.rsl_rl`: ``RslRlVecEnv(env)`` makes any ``VectorEnv`` an rsl_rl 5.x ``VecEnv``.
"""
