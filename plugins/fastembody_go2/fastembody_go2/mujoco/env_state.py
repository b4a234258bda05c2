"""go2-mujoco's resumable state (``state_dict`` / ``load_state_dict`` of :class:`.env.Go2MujocoEnv`): MuJoCo
states and sensors, the named buffers, the generator and the terrain curriculum, so a resumed run continues
exactly; a checkpoint from another env count, ground or model is one CheckpointError line."""
from typing import Any, Dict, Sequence

import torch

from fastembody_core import CheckpointError


def env_state_dict(env: Any, buffers: Sequence[str]) -> Dict[str, Any]:
    state = {
        "num_envs": env.num_envs,
        "mujoco_state": torch.from_numpy(env.state.copy()),
        "mujoco_sensors": torch.from_numpy(env.sensors.copy()),
        "generator": env.generator.get_state().clone(),
        "buffers": {name: getattr(env, name).clone() for name in buffers},
    }
    if env._tiles is not None:
        state["terrain"] = env._tiles.state_dict()
    return state


def load_env_state(env: Any, state: Dict[str, Any], buffers: Sequence[str]) -> None:
    if int(state.get("num_envs", -1)) != env.num_envs:
        raise CheckpointError(f"go2-mujoco: checkpoint env state has num_envs={state.get('num_envs')}, "
                              f"this env has {env.num_envs}")
    if ("terrain" in state) != (env._tiles is not None):
        raise CheckpointError(f"go2-mujoco: the checkpoint was saved on {'rough' if 'terrain' in state else 'flat'}"
                              f" ground, this env is on {'flat' if env._tiles is None else 'rough'} ground")
    if tuple(state["mujoco_state"].shape) != env.state.shape:
        raise CheckpointError(f"go2-mujoco: checkpoint MuJoCo state has shape "
                              f"{tuple(state['mujoco_state'].shape)}, this model needs {env.state.shape}")
    for name in buffers:  # every check before anything changes
        now, saved = getattr(env, name), state["buffers"][name]
        if tuple(saved.shape) != tuple(now.shape):
            raise CheckpointError(f"go2-mujoco: checkpoint env state buffers.{name} has shape "
                                  f"{tuple(saved.shape)}, this env expects {tuple(now.shape)}")
    if env._tiles is not None:
        env._tiles.check(state["terrain"])
    with torch.inference_mode():
        env.state[:] = state["mujoco_state"].numpy()
        env.sensors[:] = state["mujoco_sensors"].numpy()
        env.generator.set_state(state["generator"].cpu())
        for name in buffers:
            setattr(env, name, state["buffers"][name].to(dtype=getattr(env, name).dtype).clone())
        if env._tiles is not None:
            env._tiles.load_state_dict(state["terrain"])
        env._apply_bucket_dynamics(range(len(env._bucket_models)))
        for i, b in enumerate(env.env_bucket.tolist()) if env._bucket_models else ():
            env.models[i] = env._bucket_models[b]
