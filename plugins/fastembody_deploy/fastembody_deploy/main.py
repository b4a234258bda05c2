"""``fastembody-deploy BUNDLE --interface IF``: the runner on the robot (or its onboard computer), torch-free.

Waits for the low-level state (damping meanwhile), then runs the state machine at the bundle's control rate
with commands from the Go2 remote (default), the keyboard, or a script. Exit codes: 0 after ``quit`` or the
duration, 2 for bad input (one line), 3 when the run ended in damping because of a fault, 130 on Ctrl-C or
SIGTERM (damping sent before exiting).
"""
import argparse
import json
import signal
import sys
from typing import Dict, List, Optional

from .bundle import load_bundle
from .commands import KEYBOARD_HELP, CommandSource, KeyboardCommands, RemoteCommands, ScriptedCommands
from .errors import DeployError
from .state_machine import DAMPING, EVENTS, SafetyConfig

FAULT_EXIT = 3


def parse_triple(text: str) -> List[float]:
    """``"0.5,0,0"`` -> [0.5, 0.0, 0.0]."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 3:
        raise DeployError(f"--command {text!r}: expected three numbers VX,VY,YAW_RATE")
    return values


def parse_script(text: str) -> Dict[str, float]:
    """``"stand@0.5,walk@3,quit@20"`` -> {event: seconds after start}."""
    events: Dict[str, float] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, _, at = item.partition("@")
        if name not in EVENTS + ("quit",):
            raise DeployError(f"--script {item!r}: events are {', '.join(EVENTS + ('quit',))}")
        try:
            events[name] = float(at)
        except ValueError:
            raise DeployError(f"--script {item!r}: expected EVENT@SECONDS") from None
    return events


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fastembody-deploy", description=__doc__.split("\n\n")[0])
    p.add_argument("bundle", help="a bundle directory (fastembody export RUN --format bundle)")
    p.add_argument("--interface", default="lo", help="network interface of the robot (lo: simulation)")
    p.add_argument("--domain", type=int, default=None, help="DDS domain (default: 1 on lo, else 0)")
    p.add_argument("--input", choices=["remote", "keyboard", "script"], default="remote",
                   help="command source (default: the Go2 remote)")
    p.add_argument("--command", default="0,0,0", help="VX,VY,YAW_RATE of --input script")
    p.add_argument("--script", default="stand@0.5,walk@3", help="events of --input script: EVENT@SECONDS,...")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--connect-timeout", type=float, default=3.0, help="seconds to wait for the first state")
    p.add_argument("--max-tilt", type=float, default=None, help="tilt fault limit [deg] (default: the bundle's)")
    p.add_argument("--stand-time", type=float, default=2.0, help="seconds to interpolate to the default pose")
    p.add_argument("--report", default=None, help="write a JSON report of the run here")
    p.add_argument("--record", action="store_true", help="include every policy step's observation terms")
    return p


def run(args: argparse.Namespace) -> int:
    import math
    import time

    from .dds import SIM_DOMAIN, REAL_DOMAIN, DdsRobotIO
    from .runner import Runner

    bundle = load_bundle(args.bundle)
    domain = args.domain if args.domain is not None else (SIM_DOMAIN if args.interface == "lo" else REAL_DOMAIN)
    safety = SafetyConfig(stand_time_s=args.stand_time,
                          max_tilt=None if args.max_tilt is None else math.radians(args.max_tilt))
    io = DdsRobotIO(args.interface, domain)
    commands: CommandSource
    if args.input == "script":
        commands = ScriptedCommands(parse_triple(args.command), parse_script(args.script), start=time.monotonic())
    elif args.input == "keyboard":
        print(KEYBOARD_HELP, flush=True)
        commands = KeyboardCommands(bundle.command_ranges)
    else:
        commands = RemoteCommands(bundle.command_ranges)
    runner = Runner(bundle, io, commands, safety, record=args.record, log=lambda m: print(m, flush=True))
    try:
        runner.wait_for_state(args.connect_timeout, f" on {args.interface}, domain {domain}")
        if args.input == "script":
            commands.start = time.monotonic()  # type: ignore[attr-defined]
        print(f"connected on {args.interface} (domain {domain}); passive", flush=True)
        report = runner.run(args.duration)
    finally:
        io.close()
    if args.report:
        write_report(args.report, report)
    print(f"ended in {report.final_mode}" + (f": {report.reason}" if report.final_mode == DAMPING else "") +
          f"; control period p99 {report.period_p99_ms:.2f} ms", flush=True)
    return FAULT_EXIT if report.final_mode == DAMPING else 0


def write_report(path: str, report) -> None:  # noqa: ANN001
    """The run's report as JSON (numpy arrays as lists)."""
    data = {"period_p99_ms": report.period_p99_ms, "periods_s": report.periods_s,
            "transitions": [list(t) for t in report.transitions], "final_mode": report.final_mode,
            "ended_at": report.ended_at,
            "reason": report.reason,
            "observations": [{"tick": o["tick"], "actions": o["actions"].tolist(),
                              "terms": {k: v.tolist() for k, v in o["terms"].items()}}
                             for o in report.observations]}
    with open(path, "w") as f:
        json.dump(data, f)


def _terminate(signum, frame):  # noqa: ANN001, ANN202
    raise KeyboardInterrupt


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)  # SIGTERM like Ctrl-C: damping, then exit 130
    try:
        return run(args)
    except DeployError as exc:
        print(f"Error: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted: damping sent.", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
