"""Network building blocks shared by the algorithms: MLP, empirical normaliser, recurrent core, Gaussian actor,
deployable policy modules, and mixed-precision helpers.

Checkpoint layout (how another plugin rebuilds a policy without importing the one that trained it)
---------------------------------------------------------------------------------------------------
An algorithm's ``state_dict()`` (stored by the trainer under ``"algorithm_state"``) holds:

* ``"model_spec"``: the actor's architecture as plain data (:func:`policy_spec` builds it)::

      {"format": "fastembody.gaussian_actor/1", "obs_groups": ["policy"], "obs_dim": 48, "num_actions": 12,
       "hidden_dims": [512, 256, 128], "activation": "elu", "obs_normalization": False,
       "rnn_type": "none", "rnn_hidden_size": 256, "rnn_num_layers": 1,
       "init_noise_std": 1.0, "std_type": "scalar"}

* ``"actor_state"``: the actor's ``state_dict()`` (MLP weights, normaliser buffers, std parameter).

``load_policy(state)`` = ``build_policy(state["model_spec"])`` + ``load_state_dict(state["actor_state"])``
returns the :class:`GaussianActor`; ``.export()`` gives the deterministic deployable module. PPO adds
``"critic_spec"``/``"critic_state"`` (same format, ``num_actions`` = 1 output) and its optimiser.
"""
import copy
import os
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

from .errors import CheckpointError, ConfigError
from .resources import check_memory

SPEC_FORMAT = "fastembody.gaussian_actor/1"

ACTIVATIONS = {
    "elu": nn.ELU,
    "selu": nn.SELU,
    "relu": nn.ReLU,
    "lrelu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "identity": nn.Identity,
}
_INPLACE_ACTIVATIONS = ("elu", "selu", "relu", "lrelu")


def build_mlp(input_dim: int, output_dim: int, hidden_dims: Sequence[int], activation: str = "elu") -> nn.Sequential:
    """``Linear -> act -> ... -> Linear`` (no activation on the output)."""
    if activation not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {activation!r}; allowed: {', '.join(ACTIVATIONS)}", key="activation")
    layers: List[nn.Module] = []
    make_activation = ACTIVATIONS[activation]
    inplace = activation in _INPLACE_ACTIVATIONS  # saves one activation-sized write per layer (~10% of an update)
    dims = [int(input_dim)] + [int(d) for d in hidden_dims]
    sizes = dims + [int(output_dim)]
    params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    check_memory(16 * params, f"an MLP {sizes[0]} -> {sizes[1:-1]} -> {sizes[-1]} ({params:,} parameters, with "
                 f"gradients and Adam's moments)", "use smaller hidden sizes (the *hidden_dims keys)")
    for d_in, d_out in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(d_in, d_out), make_activation(inplace=True) if inplace else make_activation()]
    layers.append(nn.Linear(dims[-1], int(output_dim)))
    return nn.Sequential(*layers)


def orthogonal_init(mlp: nn.Sequential, output_gain: float) -> None:
    """CleanRL's init: orthogonal weights (gain sqrt(2), ``output_gain`` on the last layer), zero biases."""
    linears = [m for m in mlp if isinstance(m, nn.Linear)]
    for i, layer in enumerate(linears):
        nn.init.orthogonal_(layer.weight, gain=output_gain if i == len(linears) - 1 else 2**0.5)
        nn.init.zeros_(layer.bias)


class EmpiricalNormalizer(nn.Module):
    """Running mean/std of observations (rsl_rl's EmpiricalNormalization): ``(x - mean) / (std + eps)``.

    Its buffers live in the owning model's ``state_dict``; ``update`` merges a batch (averaged over ranks when
    torch.distributed is initialised).
    """

    def __init__(self, dim: int, eps: float = 1e-2, until: Optional[int] = None):
        super().__init__()
        self.eps = eps
        self.until = until
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("var", torch.ones(dim))
        self.register_buffer("std", torch.ones(dim))
        self.register_buffer("count", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / (self.std + self.eps)

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Merge the statistics of ``x[batch, dim]`` (parallel-variance formula, fp32)."""
        if self.until is not None and int(self.count) >= self.until:
            return
        x = x.reshape(-1, self.mean.shape[0]).float()
        count = torch.tensor(x.shape[0], dtype=torch.long, device=self.count.device)
        mean_x = x.mean(dim=0)
        var_x = (x - mean_x).square().mean(dim=0)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            world = torch.distributed.get_world_size()
            local_mean = mean_x
            torch.distributed.all_reduce(count)
            mean_x = mean_x.clone()
            torch.distributed.all_reduce(mean_x)
            mean_x /= world
            var_x = var_x + (local_mean - mean_x).square()
            torch.distributed.all_reduce(var_x)
            var_x /= world
        self.count += count
        rate = count.float() / self.count.float()
        delta = mean_x - self.mean
        self.mean += rate * delta
        self.var += rate * (var_x - self.var + delta * (mean_x - self.mean))
        self.std.copy_(self.var.clamp_min(0.0).sqrt())


class GRUCore(nn.Module):
    """GRU over ``x[T, B, D]`` with its hidden state packed as one tensor ``[num_layers, B, H]``."""

    num_states = 1

    def __init__(self, input_dim: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        self.rnn = nn.GRU(input_dim, hidden_size, num_layers)

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.rnn(x, state)


class LSTMCore(nn.Module):
    """LSTM over ``x[T, B, D]``; its (h, c) state packed as one tensor ``[2 * num_layers, B, H]`` (h first)."""

    num_states = 2

    def __init__(self, input_dim: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        self.rnn = nn.LSTM(input_dim, hidden_size, num_layers)
        self.num_layers = num_layers

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        h = state[: self.num_layers].contiguous()
        c = state[self.num_layers :].contiguous()
        y, (h, c) = self.rnn(x, (h, c))
        return y, torch.cat([h, c], dim=0)


def _eager(fn: Any) -> Any:
    """Keep ``fn`` out of torch.compile (where the torch has ``torch.compiler.disable``)."""
    disable = getattr(getattr(torch, "compiler", None), "disable", None)
    return disable(fn) if disable is not None else fn


@_eager
def run_sequence(
    core: nn.Module, x: torch.Tensor, state: torch.Tensor, resets: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Replay ``x[T, B, D]`` from ``state``, zeroing an env's state before step t where ``resets[t, env]``.

    The sequence is cut only at steps where some env resets; each segment is one RNN call. Not compiled: the cuts
    depend on the data (a compiled model recompiled for every new pattern of segment lengths until torch gave up).
    """
    keep = (~resets).to(state.dtype)
    cuts = resets.any(dim=1).nonzero().flatten().tolist()
    bounds = sorted(set([0, x.shape[0]] + cuts))
    outputs = []
    for start, end in zip(bounds[:-1], bounds[1:]):
        if start in cuts:
            state = state * keep[start].view(1, -1, 1)
        y, state = core(x[start:end], state)
        outputs.append(y)
    return (outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=0)), state


class MLPModel(nn.Module):
    """Observation -> [empirical normaliser] -> [GRU/LSTM] -> MLP -> output (rsl_rl's MLPModel/RNNModel)."""

    def __init__(
        self,
        obs_dim: int,
        output_dim: int,
        hidden_dims: Sequence[int],
        activation: str = "elu",
        obs_normalization: bool = False,
        rnn_type: str = "none",
        rnn_hidden_size: int = 256,
        rnn_num_layers: int = 1,
    ):
        super().__init__()
        self.normalizer = EmpiricalNormalizer(obs_dim) if obs_normalization else None
        cores = {"gru": GRUCore, "lstm": LSTMCore}
        if rnn_type not in ("none",) + tuple(cores):
            raise ConfigError(f"unknown rnn_type {rnn_type!r}; allowed: none, gru, lstm", key="rnn_type")
        self.memory = cores[rnn_type](obs_dim, rnn_hidden_size, rnn_num_layers) if rnn_type != "none" else None
        self.state_shape = (self.memory.num_states * rnn_num_layers, rnn_hidden_size) if self.memory else None
        self.mlp = build_mlp(rnn_hidden_size if self.memory else obs_dim, output_dim, hidden_dims, activation)

    @property
    def is_recurrent(self) -> bool:
        return self.memory is not None

    def initial_state(self, batch: int, device: Any = None) -> Optional[torch.Tensor]:
        """Zero recurrent state ``[S, batch, H]`` (None for feed-forward models)."""
        if self.state_shape is None:
            return None
        return torch.zeros(self.state_shape[0], batch, self.state_shape[1], device=device)

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        return obs if self.normalizer is None else self.normalizer(obs)

    def forward(
        self, obs: torch.Tensor, state: Optional[torch.Tensor] = None, resets: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """``obs[B, D]`` (one step) or ``obs[T, B, D]`` with ``resets[T, B]`` (replay) -> ``(output, state)``."""
        x = self.normalize(obs)
        if self.memory is None:
            return self.mlp(x), None
        assert state is not None, "a recurrent model needs its state"
        if resets is None:
            y, state = self.memory(x.unsqueeze(0), state)
            y = y.squeeze(0)
        else:
            y, state = run_sequence(self.memory, x, state, resets)
        return self.mlp(y), state


def policy_spec(
    obs_groups: Sequence[str],
    obs_dim: int,
    num_actions: int,
    hidden_dims: Sequence[int],
    activation: str = "elu",
    obs_normalization: bool = False,
    rnn_type: str = "none",
    rnn_hidden_size: int = 256,
    rnn_num_layers: int = 1,
    init_noise_std: float = 1.0,
    std_type: str = "scalar",
) -> Dict[str, Any]:
    """The plain-data architecture record stored as ``"model_spec"`` (see the module docstring)."""
    return {
        "format": SPEC_FORMAT,
        "obs_groups": [str(g) for g in obs_groups],
        "obs_dim": int(obs_dim),
        "num_actions": int(num_actions),
        "hidden_dims": [int(d) for d in hidden_dims],
        "activation": str(activation),
        "obs_normalization": bool(obs_normalization),
        "rnn_type": str(rnn_type),
        "rnn_hidden_size": int(rnn_hidden_size),
        "rnn_num_layers": int(rnn_num_layers),
        "init_noise_std": float(init_noise_std),
        "std_type": str(std_type),
    }


def build_model(spec: Mapping[str, Any]) -> MLPModel:
    """An :class:`MLPModel` with ``spec["num_actions"]`` outputs (a critic spec uses 1)."""
    return MLPModel(
        spec["obs_dim"],
        spec["num_actions"],
        spec["hidden_dims"],
        spec["activation"],
        spec["obs_normalization"],
        spec["rnn_type"],
        spec["rnn_hidden_size"],
        spec["rnn_num_layers"],
    )


class GaussianActor(nn.Module):
    """Diagonal Gaussian policy: mean from an :class:`MLPModel`, learnable state-independent std."""

    def __init__(self, spec: Mapping[str, Any]):
        super().__init__()
        if spec.get("format") != SPEC_FORMAT:
            raise CheckpointError(f"model_spec format {spec.get('format')!r} is not {SPEC_FORMAT!r}")
        self.spec = dict(spec)
        self.obs_groups = list(spec["obs_groups"])
        self.model = build_model(spec)
        init = float(spec["init_noise_std"]) * torch.ones(int(spec["num_actions"]))
        self.std_type = spec["std_type"]
        if self.std_type == "log":
            self.log_std = nn.Parameter(init.log())
        else:
            self.std_param = nn.Parameter(init)

    @property
    def is_recurrent(self) -> bool:
        return self.model.is_recurrent

    def std(self) -> torch.Tensor:
        if self.std_type == "log":
            return self.log_std.clamp(-13.8, 13.8).exp()
        return self.std_param.clamp(1e-6, 1e6)

    def forward(
        self, obs: torch.Tensor, state: Optional[torch.Tensor] = None, resets: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Action mean (fp32) and the next recurrent state."""
        mean, state = self.model(obs, state, resets)
        return mean.float(), state

    def export(self) -> nn.Module:
        """A deterministic CPU fp32 copy for deployment (see :class:`ExportedPolicy`)."""
        model = copy.deepcopy(self.model).float().cpu().eval()
        if model.normalizer is not None:
            mean, scale = model.normalizer.mean.clone(), model.normalizer.std + model.normalizer.eps
        else:
            dim = self.spec["obs_dim"]
            mean, scale = torch.zeros(dim), torch.ones(dim)
        if model.memory is not None:
            return ExportedRecurrentPolicy(mean, scale, model.memory, model.mlp, self.obs_groups)
        return ExportedPolicy(mean, scale, model.mlp, self.obs_groups)


class ExportedPolicy(nn.Module):
    """``forward(obs) -> actions``: normaliser baked in; ``obs`` concatenates the groups in ``obs_groups``.

    Works with ``torch.jit.script``, ``torch.jit.trace`` and ``torch.onnx.export``.
    """

    obs_groups: List[str]

    def __init__(self, obs_mean: torch.Tensor, obs_scale: torch.Tensor, mlp: nn.Module, obs_groups: List[str]):
        super().__init__()
        self.register_buffer("obs_mean", obs_mean.detach().float().cpu().clone())
        self.register_buffer("obs_scale", obs_scale.detach().float().cpu().clone())
        self.mlp = mlp
        self.obs_groups = list(obs_groups)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.mlp((obs - self.obs_mean) / self.obs_scale)


class ExportedRecurrentPolicy(nn.Module):
    """``forward(obs, h) -> (actions, h)`` for a GRU/LSTM policy; ``initial_state(batch)`` gives ``h``."""

    obs_groups: List[str]

    def __init__(
        self, obs_mean: torch.Tensor, obs_scale: torch.Tensor, memory: nn.Module, mlp: nn.Module, obs_groups: List[str]
    ):
        super().__init__()
        self.register_buffer("obs_mean", obs_mean.detach().float().cpu().clone())
        self.register_buffer("obs_scale", obs_scale.detach().float().cpu().clone())
        self.memory = memory
        self.mlp = mlp
        self.obs_groups = list(obs_groups)
        self.state_layers = memory.num_states * memory.rnn.num_layers
        self.state_size = memory.rnn.hidden_size

    @torch.jit.export
    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(self.state_layers, batch, self.state_size)

    def forward(self, obs: torch.Tensor, h: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        y, h = self.memory(((obs - self.obs_mean) / self.obs_scale).unsqueeze(0), h)
        return self.mlp(y.squeeze(0)), h


def build_policy(spec: Mapping[str, Any]) -> GaussianActor:
    """Rebuild an (untrained) actor from its plain-data ``model_spec``."""
    return GaussianActor(spec)


def load_policy(algorithm_state: Mapping[str, Any], device: Any = "cpu") -> GaussianActor:
    """The trained actor stored in an algorithm state dict (``model_spec`` + ``actor_state``)."""
    for key in ("model_spec", "actor_state"):
        if key not in algorithm_state:
            raise CheckpointError(f"algorithm state has no {key!r} (keys: {sorted(algorithm_state)})")
    actor = build_policy(algorithm_state["model_spec"])
    load_module_state(actor, algorithm_state["actor_state"], "actor")
    return actor.to(device)


def load_module_state(module: nn.Module, state: Mapping[str, torch.Tensor], what: str) -> None:
    """``module.load_state_dict(state)``, raising CheckpointError that names both shapes on a mismatch."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise CheckpointError(f"{what}: checkpoint keys differ from the model (missing {missing}, unexpected {unexpected})")
    for key, tensor in own.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"{what}: {key} has shape {tuple(state[key].shape)} in the checkpoint but {tuple(tensor.shape)} in the model"
            )
    module.load_state_dict(dict(state))


# -- Gaussian maths (fp32) -----------------------------------------------------------------------------
_LOG_SQRT_2PI = 0.9189385332046727


def gaussian_log_prob(actions: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Log-density of ``actions`` under N(mean, std), summed over the action dimension."""
    return (-0.5 * ((actions - mean) / std).square() - std.log() - _LOG_SQRT_2PI).sum(-1)


def gaussian_entropy(std: torch.Tensor) -> torch.Tensor:
    """Entropy of a diagonal Gaussian, summed over the action dimension."""
    return (0.5 + _LOG_SQRT_2PI + std.log()).sum(-1)


def gaussian_kl(old_mean: torch.Tensor, old_std: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """KL(old || new) of diagonal Gaussians, summed over the action dimension."""
    return (
        torch.log(std / old_std) + (old_std.square() + (old_mean - mean).square()) / (2.0 * std.square()) - 0.5
    ).sum(-1)


# -- mixed precision -----------------------------------------------------------------------------------
def cpu_has_native_bf16() -> bool:
    """True on CPUs with bf16 matmul instructions (avx512_bf16 or AMX), where bf16 autocast is ~2.5x fp32."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line.split()
                    return "avx512_bf16" in flags or "amx_bf16" in flags
    except OSError:
        pass
    return False


def resolve_precision(precision: str, device: Any) -> Optional[torch.dtype]:
    """The autocast dtype for ``precision`` ("auto" | "fp32" | "bf16") on ``device``; None means fp32."""
    if precision == "fp32":
        return None
    kind = torch.device(device).type
    if precision == "bf16":
        return torch.bfloat16
    if kind == "cpu":
        return torch.bfloat16 if cpu_has_native_bf16() and os.environ.get("FASTEMBODY_NO_BF16") != "1" else None
    if kind == "cuda" and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


@contextmanager
def maybe_autocast(device: Any, dtype: Optional[torch.dtype]) -> Iterator[None]:
    """``torch.autocast`` when ``dtype`` is set (torch >= 1.10 supports CPU bf16), else nothing."""
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=torch.device(device).type, dtype=dtype):
        yield
