"""A run directory belongs to one experiment and one writer at a time, and says what trained.

* ``experiment.json`` records the experiment's identity (name, env, algorithm, trainer, sha256 of the resolved
  config); a run of another experiment into the directory, or a fresh start over saved checkpoints, is refused.
* ``.fastembody.lock`` is held with ``fcntl.flock`` for the run's life: a second writer is refused at once; the
  OS drops the lock when the holder exits or dies (no stale pid files). Under torchrun only rank 0 takes it.
* ``--resume`` continues from the newest checkpoint that passes its digest check (naming any it skipped),
  compares the checkpoint's config with this one, refuses keys that cannot change (identity, ``seed``,
  ``env.params.num_envs`` and each params dataclass's ``RESUME_FIXED``) and appends every change, old -> new,
  to ``resume_log.jsonl``; the algorithm applies the rest (``AlgorithmHandle.apply_resume_changes``).
"""
import datetime
import hashlib
import json
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

from .config import RESOLVED_CONFIG_NAME, ExperimentConfig, read_config_file
from .errors import ConfigError, FastEmbodyError, RunDirError
from .resources import atomic_write, writing

IDENTITY_FILE = "experiment.json"
LOCK_FILE = ".fastembody.lock"
RESUME_LOG = "resume_log.jsonl"
IDENTITY_KEYS = ("name", "env.name", "algorithm.name", "trainer.name")
"""Keys that make an experiment another experiment: its run dir refuses them."""
FIXED_KEYS = {
    "seed": "the random streams continue from the checkpoint",
    "env.params.num_envs": "the env state, rollout storage and statistics are shaped by it",
}
"""Keys no run can change on resume (beyond IDENTITY_KEYS and the params' ``RESUME_FIXED``), and why."""
_SECTIONS = {"env": "envs", "algorithm": "algorithms", "trainer": "trainers"}
Changes = Dict[str, Tuple[Any, Any]]


class _Unset:
    """A key one config has and the other lacks."""

    def __repr__(self) -> str:
        return "<unset>"

    __str__ = __repr__


UNSET = _Unset()


def config_sha256(config: Mapping[str, Any]) -> str:
    """sha256 of a resolved config (as plain data, keys sorted)."""
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def flatten_config(data: Mapping[str, Any], prefix: str = "") -> Iterator[Tuple[str, Any]]:
    """Dotted ``(key, value)`` pairs of nested mappings (lists are values): a resolved config as flat keys."""
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            yield from flatten_config(value, dotted)
        else:
            yield dotted, value


def config_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> Changes:
    """Every dotted key whose value differs between two resolved configs: ``{key: (old, new)}`` (a key one of
    them lacks has UNSET there)."""
    before, after = dict(flatten_config(old)), dict(flatten_config(new))
    keys = sorted(set(before) | set(after))
    return {k: (before.get(k, UNSET), after.get(k, UNSET)) for k in keys if before.get(k, UNSET) != after.get(k, UNSET)}


def section_changes(changes: Changes, section: str) -> Changes:
    """The changes inside ``<section>.params``, keyed relative to the params (what a plugin sees)."""
    prefix = f"{section}.params."
    return {k[len(prefix):]: v for k, v in changes.items() if k.startswith(prefix)}


# -- the lock -------------------------------------------------------------------------------------------------
class RunDirLock:
    """An exclusive ``flock`` on ``RUN_DIR/.fastembody.lock``; ``acquire`` refuses at once if another process
    holds it. The lock file keeps the holder's pid, host and start time for the message."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_FILE
        self._fd: Optional[int] = None

    def acquire(self) -> "RunDirLock":
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no OS-level lock to take
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with writing("run lock", self.path):
            fd = os.open(str(self.path), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise RunDirError(f"run dir {self.path.parent} is in use by another run ({holder}); wait for it to "
                              f"finish, or write elsewhere with --run-dir NEW_DIR") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since {_now()}".encode("utf-8"))
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


# -- identity -------------------------------------------------------------------------------------------------
def identity(experiment: ExperimentConfig) -> Dict[str, Any]:
    """What ``experiment.json`` records."""
    config = experiment.to_dict()
    return {"name": experiment.name, "env": experiment.env.name, "algorithm": experiment.algorithm.name,
            "trainer": experiment.trainer.name, "config_sha256": config_sha256(config)}


def read_identity(run_dir: Path) -> Optional[Dict[str, Any]]:
    """The run dir's recorded identity: ``experiment.json``, else (older run dirs) its ``config.resolved.yaml``."""
    path = run_dir / IDENTITY_FILE
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                return data
        except (OSError, ValueError):
            pass
    resolved = run_dir / RESOLVED_CONFIG_NAME
    if resolved.is_file():
        try:
            config = read_config_file(resolved)
        except FastEmbodyError:
            return {"name": "?", "config_sha256": "?"}
        names = {s: _component_name(config.get(s)) for s in _SECTIONS}
        return {"name": config.get("name"), "env": names["env"], "algorithm": names["algorithm"],
                "trainer": names["trainer"] or "on-policy", "config_sha256": config_sha256(config)}
    return None


def _component_name(section: Any) -> Any:
    return section.get("name") if isinstance(section, dict) else section


def write_identity(run_dir: Path, ident: Mapping[str, Any]) -> None:
    data = dict(ident, fastembody_identity=1, written=_now())
    atomic_write(run_dir / IDENTITY_FILE, lambda f: f.write((json.dumps(data, indent=2) + "\n").encode("utf-8")),
                 what="run identity")


def _now() -> str:
    return datetime.datetime.now().isoformat(timespec="seconds")


def _short(ident: Mapping[str, Any]) -> str:
    return f"{ident.get('name')!r} (config {str(ident.get('config_sha256', '?'))[:12]})"


# -- claiming a run dir ---------------------------------------------------------------------------------------
@dataclass
class RunClaim:
    """What rank 0 established about the run dir before anything trains."""

    run_dir: Path
    lock: RunDirLock
    resume_from: Optional[Path] = None
    changes: Changes = field(default_factory=dict)
    skipped: List[str] = field(default_factory=list)
    iteration: int = 0


def claim_run_dir(experiment: ExperimentConfig, run_dir: Path, resume: bool, check_only: bool = False) -> RunClaim:
    """Lock ``run_dir`` and check it may take this experiment (module docstring); write its identity and, on
    resume, the resume log. Releases the lock again if it refuses, and at once with ``check_only`` (which writes
    nothing: what ``run --nproc`` does before it starts the workers)."""
    lock = RunDirLock(run_dir).acquire()
    try:
        claim = RunClaim(run_dir, lock)
        ident = identity(experiment)
        if resume:
            _plan_resume(experiment, claim)
        else:
            _check_fresh_start(run_dir, ident)
        if not check_only:
            write_identity(run_dir, ident)
            if resume:
                _record_resume(claim)
    except BaseException:
        lock.release()
        raise
    if check_only:
        lock.release()
    return claim


def _check_fresh_start(run_dir: Path, ident: Mapping[str, Any]) -> None:
    from .checkpoint import list_checkpoints
    from .run_logging import METRICS_FILE

    theirs = read_identity(run_dir)
    saved = [i for i, _ in list_checkpoints(run_dir)]
    metrics = run_dir / METRICS_FILE
    if not saved and not (metrics.is_file() and metrics.stat().st_size > 0):
        return  # nothing trained here yet (e.g. a start refused for its memory): nothing to lose
    same = theirs is not None and theirs.get("config_sha256") == ident["config_sha256"]
    if same and not saved:
        return  # a restart of this experiment that never saved a checkpoint: only its partial metrics go
    upto = f", checkpoints up to iteration {saved[-1]}" if saved else ""
    if same:
        raise RunDirError(f"run dir {run_dir} already holds this experiment{upto}; continue it with --resume, or "
                          f"start over elsewhere with --run-dir NEW_DIR (nothing was overwritten)")
    theirs = theirs or {}
    what = (f"a run of {ident['name']!r} with another config ({str(theirs.get('config_sha256'))[:12]}, this one "
            f"{ident['config_sha256'][:12]})" if theirs.get("name") == ident["name"] else
            f"another experiment, {_short(theirs)}, not {_short(ident)}")
    raise RunDirError(f"run dir {run_dir} holds {what}{upto}: write this run elsewhere with --run-dir NEW_DIR (or "
                      f"leave --run-dir out), or continue that run with --resume and changed keys (nothing was "
                      f"overwritten)")


def _plan_resume(experiment: ExperimentConfig, claim: RunClaim) -> None:
    from .checkpoint import newest_intact_checkpoint

    path, payload, claim.skipped = newest_intact_checkpoint(claim.run_dir)
    claim.resume_from = path
    old = payload.get("config") or {}
    new = experiment.to_dict()
    changes = config_changes(old, new) if old else {}
    foreign = [k for k in IDENTITY_KEYS if k in changes]
    if foreign:
        raise RunDirError(f"run dir {claim.run_dir} holds another experiment ({', '.join(_change(k, changes[k]) for k in foreign)}); "
                          f"resume it with its own config (its {RESOLVED_CONFIG_NAME}), or write this one elsewhere "
                          f"with --run-dir NEW_DIR")
    refused = []
    for key, change in changes.items():
        why = _why_fixed(key, experiment) if change[0] is not UNSET else ""  # a key the checkpoint lacks may be set
        if why:
            refused.append(f"{_change(key, change)}: {why}")
    if refused:
        raise ConfigError(f"cannot change on --resume: {'; '.join(refused)}; keep the checkpoint's value, or start a "
                          f"new run with --run-dir NEW_DIR", source=experiment.source or None)
    claim.changes = changes
    claim.iteration = int(payload["iteration"])


def _record_resume(claim: RunClaim) -> None:
    """Append the resume to ``resume_log.jsonl`` and say on stderr what was skipped and what changed."""
    for line in claim.skipped:
        print(f"--resume: skipped {line}", file=sys.stderr, flush=True)
    record = {"time": _now(), "checkpoint": str(claim.resume_from), "iteration": claim.iteration,
              "skipped": claim.skipped, "changes": {k: [a, b] for k, (a, b) in claim.changes.items()}}
    log = claim.run_dir / RESUME_LOG
    with writing("resume log", log), open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, default=str) + "\n")
    if claim.changes:
        listed = ", ".join(_change(k, v) for k, v in claim.changes.items())
        name = claim.resume_from.name if claim.resume_from else "?"
        print(f"--resume from {name} with changed config: {listed} (recorded in {log})", file=sys.stderr, flush=True)


def _change(key: str, change: Tuple[Any, Any]) -> str:
    from .config_io import short_repr

    return f"{key} {short_repr(change[0], 40)} -> {short_repr(change[1], 40)}"


def _why_fixed(key: str, experiment: ExperimentConfig) -> str:
    """Why ``key`` cannot change on resume ('' if it can)."""
    if key in FIXED_KEYS:
        return FIXED_KEYS[key]
    section, _, rest = key.partition(".params.")
    if section not in _SECTIONS or not rest:
        return ""
    from .plugins import get_registry

    name = getattr(experiment, section).name
    params_cls = get_registry().get(_SECTIONS[section], name).params
    for fixed in getattr(params_cls, "RESUME_FIXED", ()) or ():
        if rest == fixed or rest.startswith(fixed + ".") or rest.startswith(fixed + "["):
            return f"{section} {name!r} builds its networks or state from it"
    return ""
