"""make_adam: torch's fused Adam where this torch has it, the same steps as the plain one; a checkpoint's optimiser
state loads without taking over the kernel choice."""
import copy

import torch

from fastembody_core import load_optimizer_state, make_adam


def _params(seed: int):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(64, 32, generator=g).requires_grad_(), torch.randn(32, generator=g).requires_grad_()]


def _steps(optimizer, params, n: int, seed: int = 1) -> None:
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        for p in params:
            p.grad = torch.randn(p.shape, generator=g)
        optimizer.step()


def test_make_adam_is_fused_on_cpu_and_steps_as_plain_adam():
    fused_params, plain_params = _params(0), _params(0)
    fused = make_adam(fused_params, 1e-2)
    plain = torch.optim.Adam(plain_params, lr=1e-2)
    assert fused.param_groups[0]["fused"] is True  # torch 2.13 (the pinned one) fuses Adam on CPU
    _steps(fused, fused_params, 20)
    _steps(plain, plain_params, 20)
    for a, b, start in zip(fused_params, plain_params, _params(0)):
        assert (a - start).abs().max() > 0.05  # 20 steps of lr 1e-2 moved it
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_loading_a_plain_adam_state_keeps_the_fused_kernel_and_the_moments():
    plain_params = _params(0)
    plain = torch.optim.Adam(plain_params, lr=1e-2)
    _steps(plain, plain_params, 5)
    state = copy.deepcopy(plain.state_dict())  # as a checkpoint holds it (no tensor shared with `plain`)
    assert state["param_groups"][0]["fused"] is None
    params = [p.detach().clone().requires_grad_() for p in plain_params]
    fused = make_adam(params, 1e-3)
    load_optimizer_state(fused, state)
    assert fused.param_groups[0]["fused"] is True
    assert fused.param_groups[0]["lr"] == 1e-2  # hyper-parameters and moments come from the checkpoint
    torch.testing.assert_close(fused.state[params[0]]["exp_avg"], plain.state[plain_params[0]]["exp_avg"])
    _steps(fused, params, 5, seed=2)
    _steps(plain, plain_params, 5, seed=2)
    for a, b in zip(params, plain_params):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
