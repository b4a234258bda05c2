"""fastembody_core.nn: normaliser statistics, recurrent replay, policy specs, precision selection."""
import pytest
import torch

from fastembody_core import CheckpointError, EmpiricalNormalizer, build_policy, load_module_state, policy_spec
from fastembody_core.nn import GRUCore, LSTMCore, build_mlp, gaussian_kl, gaussian_log_prob, resolve_precision, run_sequence


def test_normalizer_matches_the_statistics_of_everything_it_saw():
    torch.manual_seed(0)
    norm = EmpiricalNormalizer(3)
    batches = [torch.randn(n, 3) * torch.tensor([1.0, 5.0, 0.1]) + torch.tensor([2.0, -1.0, 0.0]) for n in (10, 300, 57)]
    for b in batches:
        norm.update(b)
    data = torch.cat(batches)
    torch.testing.assert_close(norm.mean, data.mean(0), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(norm.std, data.std(0, unbiased=False), rtol=1e-4, atol=1e-5)
    assert int(norm.count) == len(data)
    x = torch.randn(4, 3)
    torch.testing.assert_close(norm(x), (x - norm.mean) / (norm.std + 1e-2))
    assert set(norm.state_dict()) == {"mean", "var", "std", "count"}


def test_normalizer_stops_learning_after_until():
    norm = EmpiricalNormalizer(2, until=10)
    norm.update(torch.ones(10, 2))
    norm.update(torch.full((10, 2), 5.0))
    assert torch.equal(norm.mean, torch.ones(2))


@pytest.mark.parametrize("core_cls", [GRUCore, LSTMCore])
def test_sequence_replay_equals_stepping_with_resets(core_cls):
    torch.manual_seed(0)
    core = core_cls(3, 5, num_layers=2)
    T, B = 6, 4
    x = torch.randn(T, B, 3)
    state0 = torch.randn(core.num_states * 2, B, 5)
    resets = torch.zeros(T, B, dtype=torch.bool)
    resets[2, 1] = resets[4, 3] = resets[4, 0] = True
    with torch.no_grad():
        replay, final = run_sequence(core, x, state0, resets)
        state, steps = state0, []
        for t in range(T):
            state = state * (~resets[t]).float().view(1, -1, 1)
            y, state = core(x[t : t + 1], state)
            steps.append(y)
    torch.testing.assert_close(replay, torch.cat(steps))
    torch.testing.assert_close(final, state)


def test_build_policy_from_plain_spec_and_named_shape_errors():
    spec = policy_spec(["policy"], 7, 2, [16, 8], activation="tanh", obs_normalization=True)
    actor = build_policy(spec)
    assert actor.obs_groups == ["policy"] and actor.std().tolist() == [1.0, 1.0]
    mean, state = actor(torch.randn(5, 7))
    assert mean.shape == (5, 2) and state is None
    other = build_policy(dict(spec, obs_dim=9))
    with pytest.raises(CheckpointError, match=r"teacher: model.normalizer.mean has shape \(7,\) in the checkpoint but \(9,\) in the model"):
        load_module_state(other, actor.state_dict(), "teacher")
    with pytest.raises(CheckpointError, match="format"):
        build_policy(dict(spec, format="something/else"))


def test_inplace_activations_keep_gradients_right():
    torch.manual_seed(0)
    mlp = build_mlp(4, 2, [8, 8], "elu")
    ref = torch.nn.Sequential(*[torch.nn.ELU() if isinstance(m, torch.nn.ELU) else m for m in mlp])
    x = torch.randn(5, 4)
    mlp(x).square().sum().backward()
    grads = [p.grad.clone() for p in mlp.parameters()]
    mlp.zero_grad()
    ref(x).square().sum().backward()
    for g, p in zip(grads, ref.parameters()):
        torch.testing.assert_close(g, p.grad)


def test_gaussian_maths_match_torch_distributions():
    torch.manual_seed(0)
    m0, m1, a = torch.randn(6, 3), torch.randn(6, 3), torch.randn(6, 3)
    s0, s1 = torch.rand(3) + 0.2, torch.rand(3) + 0.2
    normal0, normal1 = torch.distributions.Normal(m0, s0), torch.distributions.Normal(m1, s1)
    torch.testing.assert_close(gaussian_log_prob(a, m0, s0), normal0.log_prob(a).sum(-1))
    torch.testing.assert_close(gaussian_kl(m0, s0, m1, s1), torch.distributions.kl_divergence(normal0, normal1).sum(-1))


def test_precision_resolution():
    assert resolve_precision("fp32", "cpu") is None
    assert resolve_precision("bf16", "cpu") is torch.bfloat16
    from fastembody_core.nn import cpu_has_native_bf16

    assert resolve_precision("auto", "cpu") is (torch.bfloat16 if cpu_has_native_bf16() else None)


def test_the_torch_free_activation_names_are_the_ones_build_mlp_knows():
    from fastembody_core import ACTIVATION_NAMES
    from fastembody_core.nn import ACTIVATIONS

    assert tuple(ACTIVATIONS) == ACTIVATION_NAMES


def test_a_compiled_recurrent_model_replays_new_reset_patterns_without_recompiling():
    """The cuts of a replay depend on the data: ``run_sequence`` runs eager inside a compiled model, so each new
    pattern of reset steps reuses the graphs (before, Dynamo recompiled for each until its limit of 8)."""
    from torch._dynamo.utils import counters

    from fastembody_core import maybe_compile
    from fastembody_core.nn import MLPModel

    torch.manual_seed(0)
    model = MLPModel(3, 2, [8], rnn_type="gru", rnn_hidden_size=4)
    compiled = maybe_compile(model, True, "test")
    T, B = 12, 5
    x, state = torch.randn(T, B, 3), torch.zeros(1, B, 4)
    graphs = []
    for cuts in range(1, T):  # 11 patterns: some env resets at each of the first `cuts` steps after the start
        resets = torch.zeros(T, B, dtype=torch.bool)
        resets[torch.arange(1, cuts + 1), torch.arange(1, cuts + 1) % B] = True
        out, _ = compiled(x, state, resets)
        torch.testing.assert_close(out, model(x, state, resets)[0], rtol=1e-5, atol=1e-6)
        graphs.append(int(counters["stats"]["unique_graphs"]))
    assert graphs[-1] == graphs[0], graphs
