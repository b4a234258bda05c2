"""Worker for tests/core/test_distributed.py: one PPO iteration pair on a fixed data set, sharded over ranks.

Run alone (1 process, all envs) or under torchrun (each rank takes its contiguous slice of the envs). The
rollout data, including the action noise, is drawn once for all envs from a fixed generator, so the 1-process
run sees exactly the concatenation of the ranks' shards. Writes ``OUT/rank<r>.pt`` with the final parameters.
"""
import os
import sys
from pathlib import Path

import torch

from fastembody_core import EnvSpec, RunContext, get_registry
from fastembody_core.distributed import destroy_distributed, exit_worker, init_distributed

TOTAL_ENVS, STEPS, OBS_DIM, NUM_ACTIONS, ITERATIONS = 8, 6, 5, 2, 2


def main(out: Path) -> None:
    torch.set_num_threads(1)
    init_distributed("cpu")
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    torch.manual_seed(100 + rank)  # different initial weights per rank: the start-up broadcast must align them
    n = TOTAL_ENVS // world
    shard = slice(rank * n, (rank + 1) * n)

    g = torch.Generator().manual_seed(0)
    obs = torch.randn(ITERATIONS, STEPS + 1, TOTAL_ENVS, OBS_DIM, generator=g) * 3.0 + 1.0
    rewards = torch.randn(ITERATIONS, STEPS, TOTAL_ENVS, generator=g)
    dones = torch.rand(ITERATIONS, STEPS, TOTAL_ENVS, generator=g) < 0.1
    noise = torch.randn(ITERATIONS, STEPS, TOTAL_ENVS, NUM_ACTIONS, generator=g)

    registration = get_registry().get("algorithms", "ppo")
    params = registration.params(
        actor_hidden_dims=[16, 16], critic_hidden_dims=[16, 16], obs_normalization=True, schedule="adaptive",
        desired_kl=1e-4, num_learning_epochs=3, num_mini_batches=1, precision="fp32",
    )
    spec = EnvSpec(num_envs=n, num_actions=NUM_ACTIONS, observation_shapes={"policy": (OBS_DIM,)},
                   max_episode_length=100, step_dt=0.02, device="cpu")
    ppo = registration.factory(spec, params, RunContext(seed=0, rank=rank, world_size=world))
    ppo.setup(STEPS)

    real_randn_like = torch.randn_like
    stats = []
    try:
        for it in range(ITERATIONS):
            for t in range(STEPS):
                torch.randn_like = lambda like, _e=noise[it, t, shard]: _e.clone()  # the shard's action noise
                ppo.act({"policy": obs[it, t, shard]})
                torch.randn_like = real_randn_like
                ppo.process_env_step({"policy": obs[it, t + 1, shard]}, rewards[it, t, shard], dones[it, t, shard], {})
            if os.environ.get("CRASH_RANK") == str(rank):  # the crash test: the peers wait in the update's all-reduce
                raise RuntimeError(f"deliberate failure on rank {rank}")
            stats.append(ppo.update({"policy": obs[it, STEPS, shard]}))
    finally:
        torch.randn_like = real_randn_like
    state = {"actor": ppo.actor.state_dict(), "critic": ppo.critic.state_dict(), "lr": ppo.learning_rate,
             "kl": [s["kl"] for s in stats]}
    torch.save(state, out / f"rank{rank}.pt")
    destroy_distributed(wait_for_all=True)
    if world > 1:
        exit_worker(0)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
