"""fastembody_core.policy_transfer: a trained policy network carried into another run's actor."""
import pytest
import torch

from fastembody_core import CheckpointError, GaussianActor, load_trained_policy, policy_record, policy_spec
from fastembody_core import save_checkpoint


def _spec(hidden=(16, 16), rnn_type="gru"):
    return policy_spec(["deployable"], 6, 3, list(hidden), obs_normalization=True, rnn_type=rnn_type,
                       rnn_hidden_size=8, init_noise_std=0.3)


def _trained(spec):
    torch.manual_seed(1)
    actor = GaussianActor(spec)
    with torch.no_grad():
        for p in actor.parameters():
            p.add_(torch.randn_like(p))
        actor.model.normalizer.update(torch.randn(50, 6) * 3 + 1)
    return actor


def _outputs(model, steps=5):
    torch.manual_seed(2)
    state = model.initial_state(4)
    outs = []
    for _ in range(steps):
        out, state = model(torch.randn(4, 6), state)
        outs.append(out)
    return torch.stack(outs)


@pytest.mark.parametrize("layout", ["policy", "ppo"])
def test_a_stored_policy_starts_a_fresh_actor_with_the_same_outputs(tmp_path, layout):
    spec = _spec()
    trained = _trained(spec)
    if layout == "policy":  # what a distillation student writes
        state = {"student_state": {}, "policy": policy_record(spec, trained.model)}
    else:  # PPO's own layout
        state = {"model_spec": spec, "actor_state": trained.state_dict()}
    save_checkpoint(tmp_path / "run" / "checkpoints" / "model_3.pt",
                    {"iteration": 3, "algorithm": "x", "algorithm_state": state})
    fresh = GaussianActor(_spec())
    assert not torch.equal(_outputs(fresh.model), _outputs(trained.model))
    path = load_trained_policy(fresh.model, fresh.spec, str(tmp_path / "run"), "algorithm.params.init_policy")
    assert path.name == "model_3.pt"
    torch.testing.assert_close(_outputs(fresh.model), _outputs(trained.model), rtol=0, atol=0)
    assert torch.equal(fresh.model.normalizer.mean, trained.model.normalizer.mean)
    assert torch.equal(fresh.std(), torch.full((3,), 0.3))  # the std is this run's, not the stored one


def test_mismatches_are_named_checkpoint_errors(tmp_path):
    spec = _spec()
    file = tmp_path / "model_1.pt"
    save_checkpoint(file, {"iteration": 1, "algorithm": "x",
                           "algorithm_state": {"policy": policy_record(spec, _trained(spec).model)}})
    other = GaussianActor(_spec(hidden=(32,), rnn_type="none"))
    with pytest.raises(CheckpointError, match=r"init_policy: the policy in .*model_1.pt has another architecture "
                                              r"\(hidden_dims: \[16, 16\] there vs \[32\] here; rnn_type"):
        load_trained_policy(other.model, other.spec, str(file), "init_policy")
    bare = tmp_path / "model_2.pt"
    save_checkpoint(bare, {"iteration": 1, "algorithm": "sac", "algorithm_state": {"q": torch.zeros(2)}})
    with pytest.raises(CheckpointError, match=r"init_policy: .*model_2.pt \(algorithm 'sac'\): .*carries no policy"):
        load_trained_policy(other.model, other.spec, str(bare), "init_policy")
    with pytest.raises(CheckpointError, match=r"init_policy: checkpoint .*nowhere.pt does not exist"):
        load_trained_policy(other.model, other.spec, str(tmp_path / "nowhere.pt"), "init_policy")
