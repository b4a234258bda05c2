"""``init_policy``: PPO's actor starts from another run's trained policy (e.g. RL fine-tuning of a student)."""
import pytest
import torch

from fastembody_core import CheckpointError, ConfigError, RunContext, policy_record, save_checkpoint
from fastembody_ppo import PPOParams

from ppo_testing import make_ppo, point_mass, train


def _stored_policy(path, env, hidden=(32, 32), rnn_type="gru"):
    """A trained-looking recurrent policy as a distillation student stores it (``state["policy"]``)."""
    probe = make_ppo(env, actor_hidden_dims=list(hidden), rnn_type=rnn_type, rnn_hidden_size=16, obs_normalization=True)
    torch.manual_seed(3)
    with torch.no_grad():
        for p in probe.actor.model.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    save_checkpoint(path, {"iteration": 9, "algorithm": "distillation",
                           "algorithm_state": {"policy": policy_record(probe.actor_spec, probe.actor.model)}})
    return probe.actor


def _actions(algo, env, steps=20):
    algo.reset()
    obs = env.get_observations()
    out = []
    with torch.inference_mode():
        for _ in range(steps):
            actions = algo.act_inference(obs)
            out.append(actions)
            obs, _, dones, _ = env.step(actions)
            algo.reset(dones)
    return torch.stack(out)


def test_the_actor_starts_from_the_stored_policy_and_then_trains(tmp_path):
    env = point_mass(16)
    stored = _stored_policy(tmp_path / "student" / "checkpoints" / "model_9.pt", env)
    algo = make_ppo(env, rnn_type="gru", rnn_hidden_size=16, obs_normalization=True, init_noise_std=0.2,
                    init_policy=str(tmp_path / "student"))
    fresh = {k: v.clone() for k, v in algo.actor.model.state_dict().items()}
    assert not torch.equal(fresh["mlp.0.weight"], stored.model.mlp[0].weight)  # built: not read yet (eval/play)
    algo.setup(8)  # training starts: the stored policy comes in
    assert torch.equal(algo.actor.std(), torch.full((2,), 0.2))
    for name, tensor in stored.model.state_dict().items():
        assert torch.equal(algo.actor.model.state_dict()[name], tensor), name
    stored_ppo = make_ppo(point_mass(16), rnn_type="gru", rnn_hidden_size=16, obs_normalization=True)
    stored_ppo.actor.model.load_state_dict(stored.model.state_dict())
    expected = _actions(stored_ppo, point_mass(16, seed=4))
    torch.testing.assert_close(_actions(algo, point_mass(16, seed=4)), expected, rtol=0, atol=0)
    train(algo, env, iterations=2, num_steps=8)  # and PPO trains it from there
    assert not torch.equal(algo.actor.model.mlp[0].weight, stored.model.mlp[0].weight)


def test_a_resumed_run_does_not_read_it_and_mismatches_are_named(tmp_path):
    env = point_mass(16)
    from fastembody_ppo.ppo import PPO

    resumed = PPOParams(actor_hidden_dims=[32, 32], critic_hidden_dims=[32, 32], precision="fp32",
                        init_policy=str(tmp_path / "gone"))
    PPO(env.spec(), resumed, RunContext(resume=True)).setup(8)  # the checkpoint being resumed has the actor
    with pytest.raises(CheckpointError, match="algorithm.params.init_policy: checkpoint .*gone does not exist"):
        PPO(env.spec(), resumed, RunContext()).setup(8)
    _stored_policy(tmp_path / "mlp.pt", env, rnn_type="none")
    with pytest.raises(CheckpointError, match=r"algorithm.params.init_policy: the policy in .*mlp.pt has another "
                                              r"architecture \(rnn_type: 'none' there vs 'gru' here"):
        make_ppo(env, rnn_type="gru", rnn_hidden_size=16, obs_normalization=True,
                 init_policy=str(tmp_path / "mlp.pt")).setup(8)
    with pytest.raises(ConfigError, match="init_policy: expected a checkpoint file or run directory"):
        PPOParams(init_policy=" ")
