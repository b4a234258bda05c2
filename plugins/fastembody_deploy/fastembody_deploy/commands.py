"""Where the velocity command and the operator's events come from: the Go2 remote (the ``wireless_remote`` bytes
of the low-level state), the keyboard, or a script (simulation, tests). Each source answers
``poll(now, state) -> (command[3], events)`` once per control period; ``alive(now)`` False is a ``command_lost``
fault in stand_up and policy; ``quit_requested`` ends the runner (in damping)."""
import os
import sys
import threading
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .lowlevel import decode_remote
from .messages import RobotState

REMOTE_EVENTS = {"stand": ("L2", "A"), "walk": ("Start",), "stop": ("L2", "B")}
"""Go2 remote chords (as Unitree's deploy code): L2+A stands up, Start walks, L2+B stops; Select quits."""
KEYBOARD_HELP = ("keys: s stand up, w walk, space stop (passive), i/k forward/back, u/o left/right, j/l turn, "
                 "0 zero command, q quit")


def _scale(value: float, bounds: Sequence[float]) -> float:
    """A stick value in [-1, 1] onto a command range [low, high] (positive -> high, negative -> -low)."""
    value = float(np.clip(value, -1.0, 1.0))
    return value * float(bounds[1]) if value >= 0 else -value * float(bounds[0])


class CommandSource:
    """Base: a fixed command, no events."""

    quit_requested = False

    def __init__(self, command: Sequence[float] = (0.0, 0.0, 0.0)):
        self.command = np.asarray(command, dtype=np.float64)

    def poll(self, now: float, state: Optional[RobotState]) -> Tuple[np.ndarray, List[str]]:
        return self.command.copy(), []

    def alive(self, now: float) -> bool:
        return True


class ScriptedCommands(CommandSource):
    """Events at times after start: ``ScriptedCommands((0.5, 0, 0), {"stand": 0.5, "walk": 3.0})``; ``quit``
    at a time ends the run."""

    def __init__(self, command: Sequence[float], events: Dict[str, float], start: float = 0.0):
        super().__init__(command)
        self.pending = sorted((float(t), name) for name, t in events.items())
        self.start = start

    def poll(self, now: float, state: Optional[RobotState]) -> Tuple[np.ndarray, List[str]]:
        due = [name for t, name in self.pending if now - self.start >= t]
        self.pending = [(t, name) for t, name in self.pending if now - self.start < t]
        if "quit" in due:
            self.quit_requested = True
        return self.command.copy(), [e for e in due if e != "quit"]


class RemoteCommands(CommandSource):
    """The Go2 remote: left stick forward / sideways, right stick turns, scaled to the bundle's command ranges;
    chords of :data:`REMOTE_EVENTS` on the press of their last key."""

    def __init__(self, command_ranges: Dict[str, List[float]]):
        super().__init__()
        self.ranges = command_ranges
        self._held: frozenset = frozenset()

    def poll(self, now: float, state: Optional[RobotState]) -> Tuple[np.ndarray, List[str]]:
        if state is None:
            return np.zeros(3), []
        remote = decode_remote(state.wireless_remote)
        held = frozenset(k for k in ("L2", "A", "B", "Start", "Select") if remote.pressed(k))
        pressed, self._held = held - self._held, held
        events = [e for e, chord in REMOTE_EVENTS.items() if chord[-1] in pressed and all(k in held for k in chord)]
        if "Select" in pressed:
            self.quit_requested = True
        command = np.array([_scale(remote.ly, self.ranges["lin_vel_x"]), _scale(-remote.lx, self.ranges["lin_vel_y"]),
                            _scale(-remote.rx, self.ranges["ang_vel_yaw"])])
        return command, events


class KeyboardCommands(CommandSource):
    """Single keys from a terminal (see :data:`KEYBOARD_HELP`), read by a thread; stdin closing is
    ``command_lost``."""

    STEPS = {"i": (0, 0.1), "k": (0, -0.1), "u": (1, 0.1), "o": (1, -0.1), "j": (2, 0.2), "l": (2, -0.2)}

    def __init__(self, command_ranges: Dict[str, List[float]], stream=None):
        super().__init__()
        self.ranges = [command_ranges[k] for k in ("lin_vel_x", "lin_vel_y", "ang_vel_yaw")]
        self.stream = stream if stream is not None else sys.stdin
        self._events: List[str] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._read, name="keyboard", daemon=True).start()

    def _read(self) -> None:
        restore = _cbreak(self.stream)
        try:
            while True:
                key = self.stream.read(1)
                if not key:
                    break
                self.handle(key)
        finally:
            self._closed = True
            if restore is not None:
                restore()

    def handle(self, key: str) -> None:
        """Apply one key."""
        with self._lock:
            if key in self.STEPS:
                axis, step = self.STEPS[key]
                low, high = self.ranges[axis]
                self.command[axis] = float(np.clip(self.command[axis] + step, low, high))
            elif key == "0":
                self.command[:] = 0.0
            elif key in ("s", "w", " "):
                self._events.append({"s": "stand", "w": "walk", " ": "stop"}[key])
            elif key == "q":
                self.quit_requested = True

    def poll(self, now: float, state: Optional[RobotState]) -> Tuple[np.ndarray, List[str]]:
        with self._lock:
            events, self._events = self._events, []
            return self.command.copy(), events

    def alive(self, now: float) -> bool:
        return not self._closed


def _cbreak(stream):  # noqa: ANN001, ANN202
    """Put a terminal into single-key mode; returns a function that restores it (None when not a terminal)."""
    try:
        import termios
        import tty

        fd = stream.fileno()
        if not os.isatty(fd):
            return None
        old = termios.tcgetattr(fd)
        tty.setcbreak(fd)
        return lambda: termios.tcsetattr(fd, termios.TCSADRAIN, old)
    except (ImportError, AttributeError, OSError, ValueError):
        return None
