"""The ``fastembody deploy`` command (hook ``register_commands``): the runner on a robot, or with ``--sim``
against a simulated robot (an env implementing ``JointLevelEnv``, go2-mujoco by default) over DDS on ``lo``."""
from pathlib import Path
from typing import Any, Optional, Sequence

import click

from fastembody_core import hookimpl

DEFAULT_SIM_ENV = "go2-mujoco"


@hookimpl
def register_install_hints(register: Any) -> None:
    register("env", DEFAULT_SIM_ENV, "fastembody-go2[mujoco]")  # what `deploy --sim` runs the bundle in


@hookimpl
def register_commands(cli: Any) -> None:
    @cli.command("deploy")
    @click.argument("bundle", type=click.Path(path_type=Path))
    @click.option("--sim", is_flag=True, help="Run against a simulated robot over DDS on lo (no robot needed).")
    @click.option("--sim-env", default=DEFAULT_SIM_ENV, show_default=True, help="Env simulating the robot.")
    @click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Sim env param (repeatable).")
    @click.option("--interface", default=None, help="Network interface of the robot (real robot only).")
    @click.option("--input", "source", type=click.Choice(["remote", "keyboard"]), default="remote",
                  show_default=True, help="Command source on the real robot.")
    @click.option("--command", default="0.5,0,0", show_default=True, metavar="VX,VY,YAW",
                  help="The command of a --sim run.")
    @click.option("--duration", type=float, default=20.0, show_default=True, help="Seconds of a --sim run.")
    @click.option("--video", type=click.Path(dir_okay=False, path_type=Path), help="MP4 of a --sim run.")
    def deploy(bundle: Path, sim: bool, sim_env: str, overrides: Sequence[str], interface: Optional[str],
               source: str, command: str, duration: float, video: Optional[Path]) -> None:
        """Run a policy BUNDLE (fastembody export RUN --format bundle) on a Go2, or --sim against go2-mujoco."""
        from fastembody_core import FastEmbodyError

        from .bundle import load_bundle
        from .errors import DeployError
        from .main import main, parse_triple

        try:
            if not sim:
                if not interface:
                    raise DeployError("deploy to a robot needs --interface (the one wired to 192.168.123.x); "
                                      "or use --sim")
                code = main([str(bundle), "--interface", interface, "--input", source])
                raise SystemExit(code)
            loaded = load_bundle(bundle)
            velocity = parse_triple(command)
        except DeployError as exc:
            raise FastEmbodyError(str(exc)) from None
        _simulate(loaded, sim_env, overrides, velocity, duration, video)


def _simulate(bundle: Any, sim_env: str, overrides: Sequence[str], command: Sequence[float], duration: float,
              video: Optional[Path]) -> None:
    from fastembody_core import FastEmbodyError, make_env
    from fastembody_core.config import apply_overrides
    from fastembody_core.contracts import JointLevelEnv, RunContext, require_capability

    from .errors import DeployError
    from .sim_session import run_sim_session

    params = apply_overrides({"num_envs": 1, "compile": False}, overrides)
    env = make_env(sim_env, params, RunContext(render=video is not None), source="--set")
    try:
        require_capability(env, JointLevelEnv, sim_env, "deploy --sim cannot drive it joint by joint")
        sim = env.joint_level_sim(0)
        fps = 25
        every = max(1, int(round(1.0 / (fps * sim.physics_dt)))) if video else 0
        click.echo(f"deploy --sim: {sim_env} on DDS (lo, domain 1), runner: stand at 0.5 s, walk at 3 s, "
                   f"command {tuple(command)}, {duration:g} s")
        try:
            result = run_sim_session(bundle, sim, duration, command, video_every=every)
        except DeployError as exc:
            raise FastEmbodyError(str(exc)) from None
        click.echo(result.output.rstrip())
        error = result.tracking_error(command)
        fell = result.fell(bundle.max_tilt)
        click.echo(f"robot: tracking error {error:.3f} m/s after the policy started, "
                   f"{'FELL' if fell else 'no fall'}; {result.commands_received} commands, {result.bad_crc} bad CRC")
        if video and result.frames:
            from fastembody_core.play import write_video

            path, sheet = write_video(video, result.frames, fps)
            click.echo(f"video: {path} (contact sheet {sheet})")
        if result.returncode != 0:
            raise FastEmbodyError(f"the runner exited with {result.returncode}")
    finally:
        env.close()
