"""unitree_rl_gym's H1_2 cfg, reduced to its dimensions (47 observations, 50 privileged, 12 actions)."""
from legged_gym.envs.g1.g1_config import G1RoughCfg, G1RoughCfgPPO


class H1_2RoughCfg(G1RoughCfg):
    class init_state(G1RoughCfg.init_state):
        pos = [0.0, 0.0, 1.0]


class H1_2RoughCfgPPO(G1RoughCfgPPO):
    class runner(G1RoughCfgPPO.runner):
        run_name = ""
        experiment_name = "h1_2"
