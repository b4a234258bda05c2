"""The ``fastembody`` command: thin click commands over config, plugins, pipeline, evaluation and export.

torch stays out of start-up: it is imported by the pipeline after an env's preload modules.
Every FastEmbodyError is printed as one line (``--debug`` shows the traceback) with a non-zero exit code.
"""
import contextlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import click

from . import __version__
from .errors import FastEmbodyError
from .plugins import KINDS, PluginWarning, get_registry


def _show_warning(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
    prefix = "Warning" if issubclass(category, PluginWarning) else category.__name__
    click.echo(f"{prefix}: {' '.join(str(message).split())}", err=True)


class _Group(click.Group):
    """Maps FastEmbodyError to a one-line message and exit code; Ctrl-C to 130, SIGTERM to 143. Commands that
    plugins add (hook ``register_commands``) are looked up after the built-in ones."""

    def _plugin_commands(self, ctx: click.Context) -> Dict[str, click.Command]:
        return get_registry().commands(reserved=self.commands)  # self.commands: the built-ins only

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        return super().get_command(ctx, cmd_name) or self._plugin_commands(ctx).get(cmd_name)

    def list_commands(self, ctx: click.Context) -> List[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugin_commands(ctx)))

    def invoke(self, ctx: click.Context) -> Any:
        debug = "--debug" in sys.argv[1:] or bool(ctx.params.get("debug"))
        warnings.showwarning = _show_warning
        try:
            return super().invoke(ctx)
        except FastEmbodyError as exc:
            if debug:
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(getattr(exc, "exit_code", 1))
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="fastembody")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """FastEmbody: train and distill locomotion policies for the Unitree Go2."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key (repeatable).")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), help="Run directory to write into.")
@click.option("--resume", is_flag=True, help="Continue from the latest checkpoint of the run directory.")
@click.option("--nproc", type=click.IntRange(min=1), default=1, show_default=True,
              help="Data-parallel processes on this machine (launches torchrun; num_envs is per process).")
@click.pass_context
def run(ctx: click.Context, config: Path, overrides: Sequence[str], run_dir: Optional[Path], resume: bool,
        nproc: int) -> None:
    """Train the experiment described by CONFIG (YAML or JSON)."""
    from .config import load_experiment
    from .distributed import exit_worker, world_size_from_env
    from .pipeline import run_experiment

    experiment = load_experiment(config, overrides)  # validate here, before any worker starts
    if nproc > 1 and "WORLD_SIZE" not in os.environ:
        if run_dir is not None or resume:  # refuse a locked or foreign run dir here, not in every worker
            from .pipeline import resolve_run_dir
            from .run_dir import claim_run_dir

            claim_run_dir(experiment, resolve_run_dir(experiment, run_dir, resume), resume, check_only=True)
        _launch_torchrun(nproc, config, overrides, run_dir, resume, ctx.obj["debug"])
        return
    summary = run_experiment(experiment, run_dir=run_dir, resume=resume, debug=ctx.obj["debug"])
    if os.environ.get("RANK", "0") == "0":
        from .preview import summary_lines, write_preview

        finished = Path(summary["run_dir"])
        preview = None
        if experiment.run.preview:
            click.echo("Writing the learning curves and a preview video of the trained policy ...")
            preview = write_preview(finished, experiment.run.preview_seconds, experiment.run.preview_command)
        click.echo("\n".join(summary_lines(finished, preview)))
    if world_size_from_env() > 1:  # a torchrun worker whose run is complete and saved
        exit_worker(0)


def _launch_torchrun(nproc: int, config: Path, overrides: Sequence[str], run_dir: Optional[Path], resume: bool,
                     debug: bool) -> None:
    """Re-run this command as ``nproc`` torchrun workers; exit with torchrun's code (non-zero if a rank failed)."""
    from .distributed import torchrun_command

    args = (["--debug"] if debug else []) + ["run", str(config)]
    for item in overrides:
        args += ["--set", item]
    if run_dir is not None:
        args += ["--run-dir", str(run_dir)]
    if resume:
        args.append("--resume")
    code = subprocess.call(torchrun_command(nproc, args))
    if code != 0:
        raise FastEmbodyError(f"torchrun: {nproc}-process run of {config} failed (exit code {code}); see the rank errors above")


@cli.command()
@click.argument("sweep_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--engine", type=click.Choice(["optuna", "ray"]), help="Sweep engine (default: the file's, else optuna).")
@click.option("--address", metavar="HOST:PORT", help="Ray cluster to run the trials on (--engine ray).")
@click.option("--workers", type=click.IntRange(min=1), help="Trials at a time (default: the file's workers).")
@click.pass_context
def sweep(ctx: click.Context, sweep_file: Path, engine: Optional[str], address: Optional[str],
          workers: Optional[int]) -> None:
    """Run a hyper-parameter sweep (docs/sweeps.md); re-running it continues the study."""
    from .sweep import run_sweep

    for line in run_sweep(sweep_file, engine=engine, address=address, workers=workers, debug=ctx.obj["debug"]):
        click.echo(line)


def _plugins_data() -> List[dict]:
    get_registry().commands(reserved=cli.commands)  # plugin commands are listed too
    return [p.as_dict() for p in get_registry().plugins()]


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins(as_json: bool) -> None:
    """Show installed plugins: distribution, version, hooks, what each registered, load status."""
    data = _plugins_data()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for p in data:
        line = f"{p['name']} {p['version']}  [{p['status']}]"
        if p.get("error"):
            line += f"  {p['error']}"
        click.echo(line)
        for kind, names in p["registered"].items():
            click.echo(f"    {kind}: {', '.join(names)}")


@cli.command("list")
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(kind: str, as_json: bool) -> None:
    """List registered envs, algorithms or trainers with their descriptions."""
    table = get_registry().table(kind)
    rows = [dict(reg.as_dict(), plugin=reg.plugin) for reg in sorted(table.values(), key=lambda r: r.name)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(r["name"]) for r in rows), default=0)
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['description']}  ({r['plugin']})")


@cli.command("eval")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--episodes", type=click.IntRange(min=1), help="Episodes to run (default 10; with --courses, 20 per course).")
@click.option("--checkpoint", type=click.Path(dir_okay=False, path_type=Path), help="Checkpoint (default: latest).")
@click.option("--num-envs", type=click.IntRange(min=1), help="Envs to run in parallel.")
@click.option("--courses", metavar="all|NAME[,NAME]", help="Success rate on the env's evaluation courses.")
@click.option("--env", "env_name", help="Run the courses in another env (e.g. go2-mujoco); params carry over by name.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def eval_(run_dir: Path, episodes: Optional[int], checkpoint: Optional[Path], num_envs: Optional[int],
          courses: Optional[str], env_name: Optional[str], overrides: Sequence[str], as_json: bool) -> None:
    """Evaluate a trained run with its deterministic policy."""
    from .evaluation import evaluate_courses, evaluate_run

    if env_name and courses is None:
        raise click.UsageError("--env needs --courses (fastembody play --env runs any env)")
    # with --json, what simulators print while they build (legged_gym's "Setting seed") goes to stderr
    quiet = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    if courses is not None:
        names = [c.strip() for c in courses.split(",") if c.strip() and c.strip() != "all"]
        with quiet:
            result = evaluate_courses(run_dir, names or None, episodes=episodes or 20, checkpoint=checkpoint,
                                      env_name=env_name, overrides=overrides)
        if as_json:
            click.echo(json.dumps(result, indent=2))
            return
        click.echo(f"{result['env']} courses, checkpoint {result['checkpoint']}:")
        click.echo(f"  {'course':<26} {'success':>8} {'falls':>7} {'progress':>9}  episodes")
        for name, row in result["courses"].items():
            progress = f"{row['mean_progress_m']:.2f} m" if "mean_progress_m" in row else "-"
            click.echo(f"  {name:<26} {row['success']:>8.0%} {row['fall_rate']:>7.0%} {progress:>9}  {row['episodes']}")
        return
    with quiet:
        result = evaluate_run(run_dir, episodes=episodes or 10, checkpoint=checkpoint, num_envs=num_envs,
                              overrides=overrides)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        if isinstance(value, dict):
            for k, v in value.items():
                click.echo(f"  {key}/{k}: {v:.4g}" if isinstance(v, float) else f"  {key}/{k}: {v}")
        else:
            click.echo(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["onnx", "torchscript", "bundle"]), default="onnx",
              show_default=True, help="bundle: a folder for a robot-side runner (policy.onnx, manifest.json, "
                                      "a self-check recording), verified before it is written.")
@click.option("--checkpoint", type=click.Path(dir_okay=False, path_type=Path), help="Checkpoint (default: latest).")
@click.option("--output", type=click.Path(path_type=Path), help="Output file (a folder for --format bundle).")
def export(run_dir: Path, fmt: str, checkpoint: Optional[Path], output: Optional[Path]) -> None:
    """Export the policy (normaliser included) to ONNX or TorchScript, or as a deployment bundle."""
    from .evaluation import preload_run_env

    preload_run_env(run_dir)  # export imports torch: an env whose simulator must come first (Isaac Gym) loads now
    from .export import export_run

    path = export_run(run_dir, fmt=fmt, checkpoint=checkpoint, output=output)
    click.echo(f"Exported {fmt}: {path}")
    if fmt == "bundle":
        click.echo(f"  check it anywhere (numpy + onnxruntime): fastembody check-bundle {path}")


@cli.command("check-bundle")
@click.argument("bundle", type=click.Path(path_type=Path))
def check_bundle(bundle: Path) -> None:
    """Verify a deployment bundle: files, schema, weights hash, I/O, and the recorded self-check."""
    from .bundle import verify_bundle

    result = verify_bundle(bundle)
    click.echo(f"{bundle}: ok ({result['steps']} recorded steps x {result['envs']} envs, largest action difference "
               f"{result['max_abs_diff']:.2g})")


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="PNG file to write.")
def plot(run_dir: Path, output: Optional[Path]) -> None:
    """Plot the learning curves of a run to a PNG."""
    from .plotting import plot_run

    path = plot_run(run_dir, output=output)
    click.echo(f"Wrote {path}")


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--env", "env_name", help="Env to play in (default: the run's env), e.g. go2-mujoco.")
@click.option("--checkpoint", type=click.Path(dir_okay=False, path_type=Path), help="Checkpoint (default: latest).")
@click.option("--onnx", "onnx_file", type=click.Path(dir_okay=False, path_type=Path), help="Play an exported ONNX policy.")
@click.option("--video", type=click.Path(dir_okay=False, path_type=Path), help="Write an MP4 (plus a PNG contact sheet).")
@click.option("--command", "command", metavar="VX,VY,YAW", help="Fixed velocity command, e.g. 0.5,0,0.")
@click.option("--seconds", default=10.0, show_default=True, type=click.FloatRange(min=0.1), help="Length of the playback.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key.")
def play(run_dir: Path, env_name: Optional[str], checkpoint: Optional[Path], onnx_file: Optional[Path],
         video: Optional[Path], command: Optional[str], seconds: float, overrides: Sequence[str]) -> None:
    """Run a trained policy (checkpoint or ONNX) in an env, print metrics, optionally render a video."""
    from .play import parse_command, play_run

    result = play_run(run_dir, env_name=env_name, checkpoint=checkpoint, onnx=onnx_file, video=video,
                      command=parse_command(command) if command else None, seconds=seconds, overrides=overrides)
    for key, value in result.items():
        click.echo(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Console-script entry point."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="fastembody")


if __name__ == "__main__":  # pragma: no cover
    main()
