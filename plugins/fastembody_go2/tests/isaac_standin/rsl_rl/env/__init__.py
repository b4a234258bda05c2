"""Stand-in of ``rsl_rl.env``: the abstract VecEnv legged_gym's tasks are typed against."""
import abc


class VecEnv(abc.ABC):
    num_envs: int
    num_obs: int
    num_privileged_obs: int
    num_actions: int
    max_episode_length: int
