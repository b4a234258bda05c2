"""GAE, time-out bootstrapping and minibatching of the rollout storage."""
import torch
from ppo_testing import make_ppo

from fastembody_ppo.storage import RolloutStorage


def reference_gae(rewards, values, dones, last_values, gamma, lam):
    """Textbook GAE, one env and one step at a time."""
    T, N = rewards.shape
    adv = torch.zeros(T, N)
    for n in range(N):
        running, next_value = 0.0, float(last_values[n])
        for t in reversed(range(T)):
            not_done = 0.0 if dones[t, n] else 1.0
            delta = float(rewards[t, n]) + gamma * not_done * next_value - float(values[t, n])
            running = delta + gamma * lam * not_done * running
            adv[t, n] = running
            next_value = float(values[t, n])
    return adv


def test_gae_matches_a_step_by_step_reference():
    torch.manual_seed(0)
    T, N = 7, 5
    st = RolloutStorage(T, N, 3, None, 2, torch.device("cpu"))
    st.rewards.copy_(torch.randn(T, N))
    st.values.copy_(torch.randn(T, N))
    st.dones.copy_(torch.rand(T, N) < 0.3)
    last = torch.randn(N)
    st.compute_returns(last, gamma=0.97, lam=0.9)
    expected = reference_gae(st.rewards, st.values, st.dones, last, 0.97, 0.9)
    torch.testing.assert_close(st.advantages, expected)
    torch.testing.assert_close(st.returns, expected + st.values)


def test_time_outs_bootstrap_with_the_value_and_terminations_do_not(env):
    algo = make_ppo(env, gamma=0.9)
    algo.setup(1)
    obs = env.get_observations()
    with torch.inference_mode():
        algo.act(obs)
    values = algo.storage.values[0].clone()
    n = env.num_envs
    rewards = torch.ones(n)
    dones = torch.zeros(n, dtype=torch.bool)
    dones[:2] = True  # env 0 timed out, env 1 terminated
    time_outs = torch.zeros(n, dtype=torch.bool)
    time_outs[0] = True
    with torch.inference_mode():
        algo.process_env_step(obs, rewards, dones, {"time_outs": time_outs})
    stored = algo.storage.rewards[0]
    assert torch.isclose(stored[0], 1.0 + 0.9 * values[0])
    assert stored[1] == 1.0 and torch.all(stored[2:] == 1.0)
    assert algo.storage.dones[0, :2].all() and not algo.storage.dones[0, 2:].any()


def test_minibatches_cover_the_rollout_once_per_epoch():
    T, N = 4, 6
    st = RolloutStorage(T, N, 1, None, 1, torch.device("cpu"))
    st.actor_obs.copy_(torch.arange(T * N, dtype=torch.float32).view(T, N, 1))
    batches = list(st.mini_batches(num_mini_batches=3, num_epochs=2))
    assert len(batches) == 6 and all(b.actor_obs.shape == (8, 1) for b in batches)
    for epoch in (batches[:3], batches[3:]):
        seen = torch.cat([b.actor_obs.flatten() for b in epoch]).sort().values
        assert torch.equal(seen, torch.arange(T * N, dtype=torch.float32))
    assert batches[0].critic_obs is batches[0].actor_obs  # shared groups are stored once
    for first, again in zip(batches[:3], batches[3:]):  # one permutation for every epoch (rsl_rl)
        assert torch.equal(first.actor_obs, again.actor_obs)


def test_minibatch_fields_stay_paired_with_their_sample():
    T, N = 3, 8
    st = RolloutStorage(T, N, 2, 3, 2, torch.device("cpu"))
    ids = torch.arange(T * N, dtype=torch.float32).view(T, N)
    st.actor_obs.copy_(ids[..., None].expand(T, N, 2))
    st.critic_obs.copy_(ids[..., None].expand(T, N, 3))
    st.actions.copy_(ids[..., None].expand(T, N, 2))
    for field in (st.log_probs, st.values, st.returns, st.advantages):
        field.copy_(ids)
    st.means.copy_(ids[..., None].expand(T, N, 2))
    for b in st.mini_batches(num_mini_batches=4, num_epochs=1):
        sample = b.actor_obs[:, 0]
        for value in (b.critic_obs[:, 0], b.actions[:, 1], b.old_means[:, 0], b.old_log_probs, b.old_values,
                      b.returns, b.advantages):
            assert torch.equal(value, sample)


def test_recurrent_minibatches_are_whole_sequences_with_resets():
    T, N = 5, 4
    st = RolloutStorage(T, N, 1, None, 1, torch.device("cpu"), actor_state_shape=(1, 3), critic_state_shape=(1, 3))
    st.dones[1, 2] = True
    batches = list(st.recurrent_mini_batches(num_mini_batches=2, num_epochs=1))
    assert len(batches) == 2
    b = batches[0]
    assert b.actor_obs.shape == (T, 2, 1) and b.actor_state.shape == (1, 2, 3) and b.resets.shape == (T, 2)
    resets = torch.cat([x.resets for x in batches], 1)
    assert int(resets.sum()) == 1 and not resets[0].any()  # reset before the step after the done
