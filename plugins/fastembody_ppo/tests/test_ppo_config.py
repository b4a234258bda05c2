"""PPOParams validation and the minibatch check in setup()."""
import pytest
from ppo_testing import make_ppo, spec

from fastembody_core import ConfigError
from fastembody_ppo import PPOParams
from fastembody_ppo.config import ACTIVATIONS


def test_defaults_are_rsl_rl_legged_defaults():
    p = PPOParams()
    assert p.actor_hidden_dims == p.critic_hidden_dims == [512, 256, 128]
    assert (p.activation, p.init_noise_std, p.learning_rate, p.schedule, p.desired_kl) == ("elu", 1.0, 1e-3, "adaptive", 0.01)
    assert (p.num_learning_epochs, p.num_mini_batches, p.clip_param, p.use_clipped_value_loss) == (5, 4, 0.2, True)
    assert (p.gamma, p.lam, p.value_loss_coef, p.entropy_coef, p.max_grad_norm) == (0.99, 0.95, 1.0, 0.01, 1.0)
    assert p.actor_obs_groups == ["policy"] and p.critic_obs_groups == ["critic"]


@pytest.mark.parametrize(
    "key, value",
    [
        ("learning_rate", -1e-3),
        ("learning_rate", 0.0),
        ("clip_param", 0.0),
        ("clip_param", -0.1),
        ("num_mini_batches", 0),
        ("num_learning_epochs", 0),
        ("gamma", 1.5),
        ("lam", -0.1),
        ("activation", "elu2"),
        ("schedule", "cosine"),
        ("rnn_type", "transformer"),
        ("precision", "fp16"),
        ("actor_hidden_dims", []),
        ("critic_hidden_dims", [64, 0]),
        ("actor_obs_groups", []),
        ("entropy_coef", -0.01),
        ("desired_kl", 0.0),
        ("init_noise_std", 0.0),
    ],
)
def test_invalid_values_name_their_key(key, value):
    with pytest.raises(ConfigError) as err:
        PPOParams(**{key: value})
    assert err.value.key == key
    assert str(err.value).startswith(f"{key}: ")


def test_minibatches_must_divide_the_batch():
    algo = make_ppo_from_spec(num_mini_batches=3)
    with pytest.raises(ConfigError, match=r"num_mini_batches: 3 minibatches do not divide the batch \(num_envs \* num_steps_per_env = 40\)"):
        algo.setup(5)
    algo.setup(6)  # 48 samples: divisible by 3


def test_recurrent_minibatches_must_divide_num_envs():
    algo = make_ppo_from_spec(num_mini_batches=3, rnn_type="gru", rnn_hidden_size=8)
    with pytest.raises(ConfigError, match="num_mini_batches.*num_envs = 8"):
        algo.setup(6)


def test_unknown_observation_group_is_a_config_error():
    with pytest.raises(ConfigError, match=r"^actor_obs_groups: observation group\(s\) \['height_scan'\] are not "
                                          r"provided by the env"):
        make_ppo_from_spec(actor_obs_groups=["policy", "height_scan"])


def test_critic_falls_back_to_actor_groups_without_a_critic_group():
    from fastembody_ppo.ppo import PPO
    from fastembody_core import RunContext

    algo = PPO(spec(critic=False), PPOParams(actor_hidden_dims=[8], critic_hidden_dims=[8]), RunContext())
    assert algo.critic_obs_groups == ["policy"] and algo.shared_obs
    algo = PPO(spec(critic=True), PPOParams(actor_hidden_dims=[8], critic_hidden_dims=[8]), RunContext())
    assert algo.critic_obs_groups == ["critic"] and algo.critic_spec["obs_dim"] == 6


def test_activation_names_match_the_core_networks():
    from fastembody_core.nn import ACTIVATIONS as CORE_ACTIVATIONS

    assert set(ACTIVATIONS) == set(CORE_ACTIVATIONS)


def make_ppo_from_spec(**overrides):
    from fastembody_ppo.ppo import PPO
    from fastembody_core import RunContext

    params = dict(actor_hidden_dims=[8], critic_hidden_dims=[8])
    params.update(overrides)
    return PPO(spec(num_envs=8), PPOParams(**params), RunContext())


def test_make_ppo_helper_builds(env):
    assert make_ppo(env).num_envs == env.num_envs
