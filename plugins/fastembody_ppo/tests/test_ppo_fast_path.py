"""The update's fast path: bf16 gradients against the fp32 reference (same rollout, same minibatch, a stated
tolerance), and where ``compile: auto`` compiles."""
import warnings
from typing import Dict

import pytest
import torch
from ppo_testing import make_ppo, point_mass, spec

from fastembody_core import ConfigError, RunContext
from fastembody_ppo import PPOParams
from fastembody_ppo.config import COMPILE_AUTO_MIN_ENVS

GRADIENT_TOLERANCE = 0.02
"""Relative error ||g_bf16 - g_fp32|| / ||g_fp32|| of each network's whole gradient (measured 0.22-0.35 %, seeds
0-3, on the AMD EPYC of the 2-core VMs: bf16 keeps 8 mantissa bits; log-probs, ratios, advantages stay fp32)."""


def gradients(precision: str, seed: int, compile: bool = False, rnn_type: str = "none",
              updates: int = 1) -> Dict[str, torch.Tensor]:
    """The actor's and critic's gradients of one PPO minibatch (the whole rollout), no clipping, no step (of the
    last of ``updates`` rollouts and updates)."""
    env = point_mass(num_envs=64, episode_length=12 if rnn_type != "none" else 50, seed=seed)
    torch.manual_seed(seed)  # same initial weights for both precisions
    algo = make_ppo(env, precision=precision, actor_hidden_dims=[64, 64], critic_hidden_dims=[64, 64],
                    max_grad_norm=1e9, num_learning_epochs=1, num_mini_batches=1, compile=compile,
                    rnn_type=rnn_type, rnn_hidden_size=32)
    algo.setup(16)
    torch.manual_seed(seed + 1)  # same action noise: the rollout is fp32-identical up to bf16 rounding of the means
    obs = env.get_observations()
    algo.optimizer.step = lambda *args, **kwargs: None  # keep the gradients of the update's only minibatch
    for _ in range(updates):
        with torch.inference_mode():
            for _ in range(16):
                obs, rewards, dones, extras = env.step(algo.act(obs))
                algo.process_env_step(obs, rewards, dones, extras)
        algo.update(obs)
    return {name: torch.cat([p.grad.flatten() for p in module.parameters() if p.grad is not None])
            for name, module in (("actor", algo.actor), ("critic", algo.critic))}


@pytest.mark.parametrize("seed", [0, 1])
def test_bf16_gradients_match_fp32_reference(seed):
    reference, fast = gradients("fp32", seed), gradients("bf16", seed)
    for name, g32 in reference.items():
        g16 = fast[name]
        assert g16.dtype == torch.float32  # parameters and their gradients stay fp32 (autocast casts copies)
        error = float((g16 - g32).norm() / g32.norm())
        assert 0.0 < error < GRADIENT_TOLERANCE, (name, error)  # > 0: the bf16 path really ran in bf16


def test_compiled_update_matches_eager():
    """compile: the actor and critic (forward and backward) run as inductor's graphs; fp32, so the only difference
    is the order of floating-point sums."""
    eager = gradients("fp32", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a compile failure would fall back to eager with a warning
        compiled = gradients("fp32", 0, compile=True)
    for name, g in eager.items():
        error = float((compiled[name] - g).norm() / g.norm())
        assert error < 1e-4, (name, error)


def test_compiled_recurrent_update_matches_eager():
    """A recurrent replay is cut where envs reset: the cuts run eager (``fastembody_core.nn.run_sequence``), the
    networks' layers compiled; fp32, so the only difference is the order of floating-point sums."""
    eager = gradients("fp32", 0, rnn_type="gru", updates=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        compiled = gradients("fp32", 0, compile=True, rnn_type="gru", updates=3)
    for name, g in eager.items():
        error = float((compiled[name] - g).norm() / g.norm())
        assert error < 1e-4, (name, error)


@pytest.mark.parametrize("num_envs, compiled", [(COMPILE_AUTO_MIN_ENVS - 1, False), (COMPILE_AUTO_MIN_ENVS, True)])
def test_compile_auto_compiles_large_batches_only(num_envs, compiled):
    from fastembody_ppo.ppo import PPO

    algo = PPO(spec(num_envs=num_envs), PPOParams(actor_hidden_dims=[8], critic_hidden_dims=[8]), RunContext())
    assert algo.compiled is compiled  # nothing compiles before the first call
    assert (algo.actor_forward is algo.actor) is not compiled
    explicit = PPO(spec(num_envs=8), PPOParams(actor_hidden_dims=[8], critic_hidden_dims=[8], compile=True), RunContext())
    assert explicit.compiled


@pytest.mark.parametrize("value", ["yes", "fast", 1])
def test_compile_takes_true_false_or_auto(value):
    with pytest.raises(ConfigError, match="compile"):
        PPOParams(compile=value)
