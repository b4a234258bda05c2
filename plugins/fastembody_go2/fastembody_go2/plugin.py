"""FastEmbody plugin module of fastembody-go2: registers the Go2 envs (torch-free; factories import lazily)."""
from fastembody_core import hookimpl


def make_go2_toy(params, ctx):
    """Factory of ``go2-toy``: ``(Go2ToyParams, RunContext) -> Go2ToyEnv``."""
    from .toy.env import Go2ToyEnv

    return Go2ToyEnv(params, ctx)


def make_go2_mujoco(params, ctx):
    """Factory of ``go2-mujoco``: ``(Go2MujocoParams, RunContext) -> Go2MujocoEnv`` (needs the mujoco extra)."""
    from .mujoco.gl import prepare_render_backend
    from .mujoco.model import import_mujoco

    no_frames = prepare_render_backend() if getattr(ctx, "render", False) else ""  # before mujoco is imported
    import_mujoco()  # a missing package is one EnvError naming the extra, before torch or models load
    from .mujoco.env import make_go2_mujoco as make

    env = make(params, ctx)
    env.render_unavailable = no_frames
    return env


@hookimpl
def register_envs(register):
    from .toy.config import Go2ToyParams

    register(
        "go2-toy",
        make_go2_toy,
        params=Go2ToyParams,
        description="Batched pure-PyTorch Unitree Go2 (rigid base, compliant feet, PD legs) with the "
        "unitree_rl_gym task; trains a trot on CPU in minutes",
    )
    from .mujoco.config import Go2MujocoParams

    register(
        "go2-mujoco",
        make_go2_mujoco,
        params=Go2MujocoParams,
        description="Unitree Go2 in MuJoCo on CPU (primitive-geom MJCF, batched multi-threaded stepping) with "
        "go2-toy's observations, actions and task; needs fastembody-go2[mujoco]",
    )
    # Isaac Gym envs (docs/isaac_gym.md): isaacgym is imported (before torch) only when one is built
    from . import isaac

    register("isaac", isaac.make_isaac_env, params=isaac.IsaacParams,
             description=isaac.ISAAC_DESCRIPTION, preload=isaac.PRELOAD)
    register("go2-isaac", isaac.make_go2_isaac_env, params=isaac.Go2IsaacParams,
             description=isaac.GO2_ISAAC_DESCRIPTION, preload=isaac.PRELOAD)


@hookimpl
def register_install_hints(register):
    # the Go2 recipes (configs/go2_*.yaml, unitree_go2_ppo.yaml) train with these
    register("algorithm", "ppo", "fastembody-ppo")
    register("algorithm", "distillation", "fastembody-distill")
