"""Data-parallel training on torch.distributed, started by torchrun (``torch.distributed.run``).

torchrun sets ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` in every worker;
:func:`init_distributed` reads them and joins the process group (NCCL on CUDA, gloo on CPU), and
:func:`destroy_distributed` leaves it. Each rank steps its own env shard (``num_envs`` is per rank) and the
algorithms keep their replicas identical: parameters broadcast from rank 0 at start, gradients averaged
with :func:`all_reduce_mean` per minibatch, the adaptive-KL learning rate and normaliser statistics computed
from rank-averaged values. All helpers are no-ops in a single process.

torch is imported inside the functions so that ``import fastembody_core`` stays torch-free.
"""
import os
import sys
from datetime import timedelta
from typing import Any, Iterable, List, Optional

ENV_VARS = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def world_size_from_env() -> int:
    """``WORLD_SIZE`` as torchrun set it (1 when not launched by torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_distributed() -> bool:
    """True when a torch.distributed process group with more than one rank is up."""
    if "torch" not in sys.modules:
        return False
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def backend_for(device: str) -> str:
    """``nccl`` for CUDA devices, ``gloo`` otherwise."""
    return "nccl" if str(device).startswith("cuda") else "gloo"


def init_distributed(device: str, timeout_s: float = 1800.0) -> bool:
    """Join the process group torchrun described (no-op for ``WORLD_SIZE`` 1 or if already joined).

    On CUDA the rank's device is ``cuda:LOCAL_RANK`` (set as the current device before NCCL starts).
    Returns True when this call initialised the group (so the caller owns its teardown).
    """
    if world_size_from_env() <= 1:
        return False
    import torch
    import torch.distributed as dist

    from .errors import FastEmbodyError

    if not dist.is_available():
        raise FastEmbodyError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    if dist.is_initialized():
        return False
    missing = [v for v in ENV_VARS if v not in os.environ]
    if missing:
        raise FastEmbodyError(
            f"WORLD_SIZE > 1 but {', '.join(missing)} not set; launch with torchrun (or `fastembody run --nproc N`)"
        )
    backend = backend_for(device)
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group(backend=backend, timeout=timedelta(seconds=timeout_s))
    return True


def destroy_distributed(wait_for_all: bool = False) -> None:
    """Leave the process group; ``wait_for_all`` first waits at a barrier so the ranks tear down together.

    Only a rank that finished cleanly should wait: after an error the other ranks may never reach it.
    """
    if "torch" not in sys.modules:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        if wait_for_all and dist.get_world_size() > 1:
            dist.barrier()
        dist.destroy_process_group()


def exit_worker(code: int = 0) -> None:
    """End a torchrun worker now, without interpreter finalisation (what ``multiprocessing`` children do).

    After ``destroy_process_group`` gloo's C++ threads can still abort the process during finalisation
    (SIGABRT, "terminate called without an active exception"; seen in ~5 % of 2-rank CPU runs with torch 2.13),
    which torchrun reports as a failed job although the run finished and was saved. Call this only once the
    work is done and the group destroyed; output streams are flushed first.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def all_reduce_mean(tensor: Any) -> Any:
    """Average ``tensor`` over ranks in place and return it (unchanged in one process)."""
    if is_distributed():
        import torch.distributed as dist

        dist.all_reduce(tensor)
        tensor /= dist.get_world_size()
    return tensor


def broadcast(tensor: Any, src: int = 0) -> Any:
    """Copy rank ``src``'s ``tensor`` into every rank's, in place; returns it."""
    if is_distributed():
        import torch.distributed as dist

        dist.broadcast(tensor, src=src)
    return tensor


def broadcast_module_states(*modules: Any) -> None:
    """Copy rank 0's parameters and buffers (normalisers too) into every rank's ``modules`` (no-op in one
    process): what an algorithm calls once after building its networks under ``--nproc``."""
    if is_distributed():
        for module in modules:
            for tensor in module.state_dict().values():
                broadcast(tensor, src=0)


def average_gradients(parameters: Iterable[Any]) -> None:
    """Average the gradients of ``parameters`` over ranks in one all-reduce (no-op in one process): what an
    algorithm calls between ``backward()`` and the optimiser step under ``--nproc``."""
    if not is_distributed():
        return
    import torch

    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = all_reduce_mean(torch.cat([g.reshape(-1) for g in grads]))
    offset = 0
    for g in grads:
        g.copy_(flat[offset: offset + g.numel()].view_as(g))
        offset += g.numel()


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Rank ``src``'s picklable ``obj`` on every rank (e.g. the run directory rank 0 chose)."""
    if not is_distributed():
        return obj
    import torch.distributed as dist

    holder: List[Optional[Any]] = [obj]
    dist.broadcast_object_list(holder, src=src)
    return holder[0]


def torchrun_command(nproc: int, module_args: List[str], nnodes: str = "1", extra: Optional[List[str]] = None) -> List[str]:
    """``python -m torch.distributed.run --nproc_per_node N ... -m fastembody_core <module_args>``.

    A single node uses a private rendezvous (``--standalone``); several nodes pass ``--rdzv-*`` in ``extra``.
    """
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={int(nproc)}", f"--nnodes={nnodes}"]
    if nnodes == "1" and not extra:
        cmd.append("--standalone")
    cmd += list(extra or [])
    return cmd + ["-m", "fastembody_core"] + list(module_args)
