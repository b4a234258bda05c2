"""fastembody_core.testing.check_vector_env / check_algorithm: pass on envs and algorithms that keep the contracts,
fail with the broken rule named on those that don't (each check proven able to fail)."""
import pytest
import torch
from core.fakes import FakeAlgorithm, FakeAlgorithmParams, FakeEnv, FakeEnvParams

from fastembody_core import RunContext
from fastembody_core.testing import check_algorithm, check_vector_env


def fake_env(**params):
    return FakeEnv(FakeEnvParams(**{"num_envs": 6, "max_episode_length": 10, **params}), RunContext(seed=1))


def test_the_fake_env_and_algorithm_keep_the_contracts():
    check_vector_env(fake_env())
    env = fake_env()
    check_algorithm(lambda: FakeAlgorithm(env.spec(), FakeAlgorithmParams(), RunContext(seed=1)), env)


class NoAutoReset(FakeEnv):
    def step(self, actions):
        obs, rewards, dones, extras = super().step(actions)
        self.episode_length_buf[dones] = self.max_episode_length  # "forgot" to reset the finished envs
        return obs, rewards, dones, extras


class MissingGroup(FakeEnv):
    def get_observations(self):
        return {"policy": super().get_observations()["policy"]}


class ForgetfulState(FakeEnv):
    def state_dict(self):
        return {"state": self.state.clone()}  # no RNG, no episode counters: not an exact restore

    def load_state_dict(self, state):
        self.state = state["state"].clone()


class TimeOutWithoutDone(FakeEnv):
    def step(self, actions):
        obs, rewards, dones, extras = super().step(actions)
        return obs, rewards, torch.zeros_like(dones), extras


@pytest.mark.parametrize("kind, message", [
    (NoAutoReset, "a done env's episode_length_buf was not reset by step"),
    (MissingGroup, r"reset\(\) lacks observation group\(s\) \['critic'\]"),
    (ForgetfulState, "after load_state_dict\\(state_dict\\(\\)\\) step 0 gave other 'policy' observations"),
    (TimeOutWithoutDone, "an env is marked time_outs but not done"),
])
def test_an_env_that_breaks_a_rule_is_named(kind, message):
    env = kind(FakeEnvParams(num_envs=6, max_episode_length=10), RunContext(seed=1))
    with pytest.raises(AssertionError, match=rf"check_vector_env\({kind.__name__}\): {message}"):
        check_vector_env(env)


class NonDeterministic(FakeAlgorithm):
    def act_inference(self, obs):
        return super().act_inference(obs) + torch.randn(obs["policy"].shape[0], self.spec.num_actions)


class ForgetsItsWeights(FakeAlgorithm):
    def load_state_dict(self, state):
        pass


class ExportsAnotherPolicy(FakeAlgorithm):
    def export_policy(self):
        module = super().export_policy()
        with torch.no_grad():
            module.linear.weight.add_(1.0)
        return module


@pytest.mark.parametrize("kind, message", [
    (NonDeterministic, r"act_inference\(\) is not deterministic"),
    (ForgetsItsWeights, r"a fresh instance after load_state_dict\(state_dict\(\)\) acts differently"),
    (ExportsAnotherPolicy, r"export_policy\(\) module disagrees with act_inference\(\)"),
])
def test_an_algorithm_that_breaks_a_rule_is_named(kind, message):
    env = fake_env()
    with pytest.raises(AssertionError, match=rf"check_algorithm\({kind.__name__}\): {message}"):
        check_algorithm(lambda: kind(env.spec(), FakeAlgorithmParams(), RunContext(seed=1)), env)
