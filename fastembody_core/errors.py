"""One exception family. Every message is a single line that names the file, key or plugin."""
from typing import Optional


MAX_MESSAGE = 1500
"""Longest message an error prints (a value quoted in it is cut, never the whole line lost)."""


class FastEmbodyError(Exception):
    """Base of every error FastEmbody reports to a user; the CLI prints ``str(err)`` on one line."""

    exit_code = 1

    def __str__(self) -> str:
        text = " ".join(super().__str__()[: 4 * MAX_MESSAGE].split())
        return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 5] + " ..."


class ConfigError(FastEmbodyError):
    """A config file, a ``--set`` override or a params block is invalid."""

    exit_code = 2

    def __init__(self, message: str, source: Optional[str] = None, key: Optional[str] = None):
        self.source = source
        self.key = key
        self.detail = message
        prefix = ""
        if source:
            prefix += f"{source}: "
        if key:
            prefix += f"{key}: "
        super().__init__(prefix + message)


class PluginError(FastEmbodyError):
    """A plugin failed to load, registered a clashing name, or a name is not installed."""


class CheckpointError(FastEmbodyError):
    """A checkpoint is missing, corrupt, truncated, or does not match the env or model."""


class RunDirError(FastEmbodyError):
    """A run directory is in use by another run, or holds another experiment (nothing was written)."""


class TrainingError(FastEmbodyError):
    """Training stopped: NaN/inf in a loss or an observation, or the env misbehaved."""


class EnvError(FastEmbodyError):
    """An env was given bad input (e.g. NaN actions) or cannot be built (missing dependency)."""


class StorageError(FastEmbodyError):
    """Writing a file failed (disk full, quota, read-only, I/O error); names what, where and the free space."""

    exit_code = 74  # EX_IOERR


class ResourceError(FastEmbodyError):
    """Not enough memory (or another machine resource) for what the config asks; names the figure."""
