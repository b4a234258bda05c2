"""Disk and memory, as one-line errors: a failed write names what, where and the free space; a size that cannot fit
is refused with the figure before it is allocated; an allocator failure becomes one line.

torch-free at import (CUDA memory is asked for only when a CUDA device is used).
"""
import contextlib
import errno
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from .errors import ResourceError, StorageError

_TORCH_WRITE_ERRORS = ("inline_container", "PytorchStreamWriter", "file write failed", "unexpected pos")
_ASKED = re.compile(r"(?:you tried to allocate|Tried to allocate) ([0-9]+ bytes|[0-9.]+ ?[KMGT]i?B)")
_OUT_OF_MEMORY = ("can't allocate memory", "out of memory", "DefaultCPUAllocator", "not enough memory")


def human_bytes(n: Optional[float]) -> str:
    """``1536`` -> ``'1.5 KB'`` (decimal units); None -> ``'unknown'``."""
    if n is None:
        return "unknown"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} TB"  # pragma: no cover


def free_bytes(path: Union[str, Path]) -> Optional[int]:
    """Free bytes on the file system holding ``path`` (or its nearest existing parent); None if unknown."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return int(shutil.disk_usage(str(folder)).free)
    except OSError:
        return None


def is_write_failure(exc: BaseException, path: Union[str, Path]) -> bool:
    """True for errors a failing disk causes: any OSError, or torch's zip writer giving up on a short write."""
    if isinstance(exc, OSError):
        return True
    return isinstance(exc, RuntimeError) and any(s in str(exc) for s in _TORCH_WRITE_ERRORS)


def write_failure(what: str, path: Union[str, Path], exc: BaseException, atomic: bool = False) -> StorageError:
    """The one-line StorageError for a failed write of ``what`` to ``path`` (``atomic``: by :func:`atomic_write`,
    which leaves no partial file)."""
    free = free_bytes(path)
    code = getattr(exc, "errno", None)
    if isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror
    else:
        reason = f"{type(exc).__name__}: {' '.join(str(exc).split())[:120]}"
    full = code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)) or (free is not None and free < 64 * 2**20)
    hint = ("the disk is full: free some space (or write the run elsewhere with --run-dir / run.root)" if full
            else "check that the disk is writable and healthy")
    kept = "; no partial file was left" if atomic else ""
    return StorageError(f"cannot write {what} {path}: {reason} ({human_bytes(free)} free there){kept}; {hint}")


@contextlib.contextmanager
def writing(what: str, path: Union[str, Path]) -> Iterator[None]:
    """Turn a failed write inside the block into :func:`write_failure`'s StorageError."""
    try:
        yield
    except StorageError:
        raise
    except (OSError, RuntimeError) as exc:
        if not is_write_failure(exc, path):
            raise
        raise write_failure(what, path, exc) from exc


def atomic_write(path: Union[str, Path], write: Any, what: str = "file") -> Path:
    """Call ``write(binary_file)`` on a temp file next to ``path``, fsync it, then ``os.replace`` it into place.

    A failed write (disk full, quota, I/O error) leaves no temp file and the old ``path`` untouched, and is a
    one-line StorageError naming ``what``, the path and the free space."""
    path = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    except OSError as exc:
        raise write_failure(what, path, exc, atomic=True) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, str(path))
    except BaseException as exc:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        if is_write_failure(exc, path):
            raise write_failure(what, path, exc, atomic=True) from exc
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    try:  # make the rename itself durable (POSIX); not possible on Windows
        fd = os.open(str(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- memory ---------------------------------------------------------------------------------------------------
def available_memory(device: Any = "cpu") -> Optional[int]:
    """Bytes that can still be allocated on ``device``: MemAvailable for the CPU, free memory for a CUDA device."""
    kind = str(device)
    if kind.startswith("cuda"):
        import torch

        try:
            return int(torch.cuda.mem_get_info(torch.device(kind))[0])
        except Exception:  # no driver, or the device is gone: nothing to compare with
            return None
    try:
        with open("/proc/meminfo", "r", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


SAFE_FRACTION = 0.8
"""Share of the available memory one allocation may plan for (the env, the trainer and Python need the rest)."""


def check_memory(nbytes: float, what: str, hint: str, device: Any = "cpu") -> None:
    """ResourceError (one line, with the figures) if ``nbytes`` for ``what`` exceed ``SAFE_FRACTION`` of what
    ``device`` has available; call it before allocating. ``hint`` says which key to lower."""
    available = available_memory(device)
    if available is not None and nbytes > SAFE_FRACTION * available:
        raise ResourceError(f"{what} needs about {human_bytes(nbytes)} of {_memory_name(device)}, but "
                            f"{human_bytes(available)} is available (at most {SAFE_FRACTION:.0%} of it can be planned "
                            f"for); {hint}")


def _memory_name(device: Any) -> str:
    return "GPU memory" if str(device).startswith("cuda") else "memory"


def is_out_of_memory(exc: BaseException) -> bool:
    """True for MemoryError, torch.OutOfMemoryError and the CPU allocator's 'can't allocate memory'."""
    if isinstance(exc, MemoryError) or type(exc).__name__ in ("OutOfMemoryError", "OutOfMemoryError_"):
        return True
    return isinstance(exc, RuntimeError) and any(s in str(exc) for s in _OUT_OF_MEMORY)


@contextlib.contextmanager
def memory_guard(what: str, hint: str, device: Any = "cpu") -> Iterator[None]:
    """Turn an allocator failure inside the block into one ResourceError line naming ``what`` and the figures."""
    try:
        yield
    except ResourceError:
        raise
    except (MemoryError, RuntimeError) as exc:
        if not is_out_of_memory(exc):
            raise
        match = _ASKED.search(str(exc))
        asked = ""
        if match:
            amount = match.group(1)
            asked = f" (it asked for {human_bytes(int(amount[:-6])) if amount.endswith('bytes') else amount})"
        available = human_bytes(available_memory(device))
        raise ResourceError(f"out of {_memory_name(device)} while {what}{asked}; {available} is available; "
                            f"{hint}") from None
