"""The optional MirrorableEnv capability: EnvSpec carries the maps as plain data; check_mirror_maps refuses bad ones."""
import pytest

from fastembody_core import EnvError, MirrorableEnv, VectorEnv, check_mirror_maps


class Env(VectorEnv):
    num_envs, num_actions, max_episode_length, step_dt = 2, 2, 10, 0.1
    observation_shapes = {"policy": (3,)}

    def __init__(self, maps=None):
        self.maps = maps

    def reset(self): ...
    def get_observations(self): ...
    def step(self, actions): ...


class Mirrorable(Env):
    def mirror_maps(self):
        return self.maps


def test_spec_carries_the_maps_of_a_mirrorable_env_only():
    assert not isinstance(Env(), MirrorableEnv) and Env().spec().mirror_maps == {}
    maps = {"policy": ([0, 1, 2], [1, -1, 1]), "actions": [(1, 0), (1.0, 1.0)]}
    spec = Mirrorable(maps).spec()
    assert spec.mirror_maps == {"policy": ((0, 1, 2), (1.0, -1.0, 1.0)), "actions": ((1, 0), (1.0, 1.0))}
    assert check_mirror_maps(spec) == spec.mirror_maps


@pytest.mark.parametrize("maps, message", [
    ({"critic": ([0, 1, 2], [1, 1, 1])}, r"\['critic'\]: no such observation group"),
    ({"policy": ([0, 1], [1, 1])}, r"needs a permutation of range\(3\) and 3 signs"),
    ({"policy": ([0, 1, 1], [1, 1, 1])}, r"needs a permutation of range\(3\)"),
    ({"policy": ([0, 1, 2], [1, 0.5, 1])}, r"signs of \+-1"),
    ({"actions": ([1, 0], [1, -1])}, r"\['actions'\]: mirroring twice must give the input back; it does not at index 0"),
    ({"policy": ([1, 2, 0], [1, 1, 1])}, r"mirroring twice"),
])
def test_a_malformed_map_is_one_line_when_checked(maps, message):
    spec = Mirrorable(maps).spec()  # building the spec never fails on a map: only what uses it
    with pytest.raises(EnvError, match=message) as err:
        check_mirror_maps(spec)
    assert "\n" not in str(err.value)
