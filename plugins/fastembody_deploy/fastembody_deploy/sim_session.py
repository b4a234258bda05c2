"""Run the unchanged robot runner against a simulated robot over DDS on this machine: the simulator bridge in this
process, ``fastembody-deploy`` in a child process (as on the robot), both on ``lo``. Used by
``fastembody deploy BUNDLE --sim``, the end-to-end test and ``benchmarks/deploy_sim2sim.py``."""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from .bundle import Bundle
from .dds import SIM_DOMAIN
from .lowlevel import tilt_angle
from .sim_bridge import SimBridge

FALL_HEIGHT_M = 0.15
"""Base height under which a sim run counts as a fall (besides the bundle's tilt limit)."""


@dataclass
class SimResult:
    """What a sim session measured: the runner's exit code, report and output, and the robot's trajectory."""

    returncode: int
    report: Dict[str, Any]
    output: str
    samples: List[Dict[str, Any]] = field(default_factory=list)
    """Per published state: ``t`` (monotonic), ``tick``, ``base_lin_vel`` (body), ``base_pos``, ``tilt``."""
    frames: List[Any] = field(default_factory=list)
    bad_crc: int = 0
    commands_received: int = 0

    def policy_start(self) -> Optional[float]:
        """Monotonic time the runner entered the policy state (None: never)."""
        for t, _, to, _ in self.report.get("transitions", []):
            if to == "policy":
                return float(t)
        return None

    def policy_end(self) -> float:
        """Monotonic time the policy state ended (left it, or the runner stopped)."""
        start = self.policy_start() or 0.0
        for t, frm, _, _ in self.report.get("transitions", []):
            if frm == "policy" and t >= start:
                return float(t)
        return float(self.report.get("ended_at", float("inf")))

    def policy_samples(self, settle_s: float = 0.0) -> List[Dict[str, Any]]:
        """Samples while the policy was in control, from ``settle_s`` after it started."""
        start = self.policy_start()
        if start is None:
            return []
        end = self.policy_end()
        return [s for s in self.samples if start + settle_s <= s["t"] <= end]

    def tracking_error(self, command: Sequence[float], settle_s: float = 1.0) -> float:
        """Mean |v_xy - command_xy| [m/s] from ``settle_s`` after the policy started (NaN if it never did)."""
        rows = [s["base_lin_vel"][:2] for s in self.policy_samples(settle_s)]
        if not rows:
            return float("nan")
        return float(np.mean(np.linalg.norm(np.asarray(rows) - np.asarray(command[:2]), axis=1)))

    def fell(self, max_tilt: float) -> bool:
        """Whether the base went under FALL_HEIGHT_M or tilted past ``max_tilt`` after the policy started."""
        return any(s["base_pos"][2] < FALL_HEIGHT_M or s["tilt"] > max_tilt for s in self.policy_samples())


def runner_command(bundle: Bundle, duration_s: float, command: Sequence[float], script: str, report: str,
                   record: bool = False, extra: Sequence[str] = ()) -> List[str]:
    """The ``fastembody-deploy`` command line of a sim session."""
    cmd = [sys.executable, "-m", "fastembody_deploy.main", str(bundle.path), "--interface", "lo", "--domain",
           str(SIM_DOMAIN), "--input", "script", "--command", ",".join(f"{c:g}" for c in command), "--script",
           script, "--duration", f"{duration_s:g}", "--report", report]
    return cmd + (["--record"] if record else []) + list(extra)


def run_sim_session(bundle: Bundle, sim: Any, duration_s: float, command: Sequence[float] = (0.5, 0.0, 0.0),
                    script: str = "stand@0.5,walk@3", video_every: int = 0, video_size: Sequence[int] = (480, 360),
                    record: bool = False, extra_args: Sequence[str] = (), startup_timeout_s: float = 30.0,
                    on_bridge: Optional[Callable[[SimBridge], None]] = None) -> SimResult:
    """Bridge ``sim`` (a JointLevelSim) and run the runner for ``duration_s`` against it; frames every
    ``video_every`` physics steps (0: none). The bridge runs until the runner exits."""
    bridge = SimBridge(sim, bundle.robot)
    if on_bridge is not None:
        on_bridge(bridge)
    samples: List[Dict[str, Any]] = []
    snapshots: List[Any] = []
    stop = threading.Event()
    fd, report_path = tempfile.mkstemp(prefix="fastembody-deploy-", suffix=".json")
    os.close(fd)
    proc = subprocess.Popen(runner_command(bundle, duration_s, command, script, report_path, record, extra_args),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def on_step(k: int) -> None:
        s = bridge.sim.read()
        samples.append({"t": time.monotonic(), "tick": int(round(s["time"] * 1000.0)),
                        "base_lin_vel": s["base_lin_vel"], "base_pos": s["base_pos"],
                        "tilt": tilt_angle(s["quat_wxyz"])})
        if video_every and k % video_every == 0:  # rendered after the run: drawing now would lag the real-time loop
            snapshots.append(sim.snapshot())
        if k % 50 == 0 and proc.poll() is not None:
            stop.set()

    try:
        bridge.run(duration_s + startup_timeout_s, on_step=on_step, stop=stop)
        output, _ = proc.communicate(timeout=startup_timeout_s)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        bridge.close()
    try:
        with open(report_path) as f:
            report = json.load(f)
    except (OSError, ValueError):
        report = {}
    finally:
        os.unlink(report_path)
    frames = [sim.render(video_size[0], video_size[1], snapshot) for snapshot in snapshots]
    return SimResult(returncode=proc.returncode, report=report, output=output or "", samples=samples,
                     frames=frames, bad_crc=bridge.bad_crc, commands_received=bridge.commands_received)
