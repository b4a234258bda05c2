"""pluggy hook specifications: how a plugin tells FastEmbody what it provides.

A plugin module implements any of these hooks; the ``register_*`` ones receive a ``register`` callback::

    from fastembody_core import hookimpl

    @hookimpl
    def register_envs(register):
        register("my-env", make_my_env, params=MyEnvParams, description="One line about it")

The factory signatures are in :mod:`fastembody_core.contracts`. Keep the plugin module light: import
torch and simulators inside the factory, not at module level.
"""
import pluggy

PROJECT_NAME = "fastembody"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_envs(register):
    """Register envs: ``register(name, factory, params=Dataclass, description="", preload=None)``.

    ``factory(params, ctx) -> VectorEnv``. ``preload`` names a module the pipeline imports before torch
    (Isaac Gym's bindings refuse to load after torch).
    """


@hookspec
def register_algorithms(register):
    """Register algorithms: ``register(name, factory, params=Dataclass, description="")``.

    ``factory(env_spec, params, ctx) -> AlgorithmHandle``.
    """


@hookspec
def register_trainers(register):
    """Register trainers: ``register(name, factory, params=Dataclass, description="")``.

    ``factory(env, algorithm, params, ctx) -> Trainer``.
    """


@hookspec
def register_loggers(register):
    """Register experiment trackers: ``register(name, factory, params=Dataclass, description="")``.

    ``factory(params, ctx, start_iteration) -> MetricLogger`` (see :mod:`fastembody_core.loggers`); a run
    selects trackers by name with ``run: {loggers: [tensorboard, <name>]}``.
    """


@hookspec
def register_commands(cli):
    """Add commands to the ``fastembody`` CLI: ``cli`` is its click group (``@cli.command()`` as simonw/llm's
    ``register_commands``). A command may not take a built-in command's name. Import heavy modules inside the
    command, not at module level."""


@hookspec
def register_install_hints(register):
    """Say which package provides a name this plugin's users may ask for without having it installed:
    ``register(kind, name, requirement)``, e.g. ``register("algorithm", "sac", "my-sac-plugin")``. ``kind`` is
    ``env``, ``algorithm``, ``trainer`` or ``logger``; a name ending in ``:*`` covers a family (``gym:*``). An
    unknown name then says ``it is provided by <requirement>: pip install <requirement>``."""
