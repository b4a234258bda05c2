"""Rollout storage: flat shuffled minibatches cover the rollout; BPTT windows carry episode starts."""
import torch

from fastembody_distill.storage import DistillationStorage


def _filled(steps=6, envs=4):
    st = DistillationStorage(steps, envs, 2, 1, torch.device("cpu"), state_shape=(1, 3))
    for t in range(steps):
        st.add(torch.full((envs, 2), float(t)), torch.arange(envs, dtype=torch.float32).view(-1, 1) + 10 * t)
        st.add_dones(torch.tensor([t == 2, False, t == 4, False]))
    return st


def test_mini_batches_cover_every_sample_once_per_epoch():
    st = _filled()
    assert st.full
    batches = list(st.mini_batches(num_mini_batches=3, num_epochs=2))
    assert len(batches) == 6 and all(x.shape == (8, 2) and y.shape == (8, 1) for x, y in batches)
    first_epoch = sorted(float(y) for _, ys in batches[:3] for y in ys)
    assert first_epoch == sorted(float(t * 10 + e) for t in range(6) for e in range(4))


def test_windows_are_in_time_order_with_resets_after_dones():
    st = _filled()
    windows = list(st.windows(4))
    assert [w[0].shape[0] for w in windows] == [4, 2]
    resets = torch.cat([w[2] for w in windows])
    assert resets[:, 0].tolist() == [False, False, False, True, False, False]
    assert resets[:, 2].tolist() == [False, False, False, False, False, True]
    st.clear()
    assert st.step == 0 and not st.full


def test_env_groups_split_whole_trajectories_and_windows_keep_their_resets():
    st = _filled()
    torch.manual_seed(0)
    groups = st.env_groups(2)
    assert len(groups) == 2 and sorted(torch.cat(groups).tolist()) == [0, 1, 2, 3]
    for envs in groups:
        windows = list(st.windows(4, envs))
        labels = torch.cat([w[1] for w in windows])  # label = env + 10 * step
        assert labels.shape == (6, 2, 1)
        assert torch.equal(labels[:, :, 0], envs.float().view(1, -1) + 10 * torch.arange(6.0).view(-1, 1))
        resets = torch.cat([w[2] for w in windows])
        for column, env in enumerate(envs.tolist()):
            expected = {0: 3, 2: 5}.get(env)  # env 0 ended at step 2, env 2 at step 4
            assert resets[:, column].nonzero().flatten().tolist() == ([] if expected is None else [expected])
