"""Left/right symmetry augmentation for PPO (``symmetry: augment``), on the mirror map the env declares.

The env says how each observation group and the action vector mirror (``EnvSpec.mirror_maps``, from
``fastembody_core.MirrorableEnv``): ``x[..., perm] * sign``. The update doubles every minibatch with its mirror image
(Mittal et al. 2024, as rsl_rl's symmetry data augmentation): observations of actor and critic and the actions are
mirrored; old log-probs, values, returns and advantages are the original sample's (the mirrored sample is what the
mirrored behaviour policy would have drawn, with the same probability, value and return).

Recurrent policies replay whole sequences, and a mirrored sequence needs the state the network had reached on the
mirrored trajectory, which no map of the hidden state gives. So during the rollout PPO also runs the actor and
critic on the mirrored observations (in the same batched call), carrying mirrored states through episodes exactly
like the real ones; their values at the rollout's first step are stored beside ``actor_state0`` and the mirrored
sequences replay from them.
"""
from typing import Callable, List, Mapping, Optional, Sequence, Tuple

import torch

from fastembody_core import MIRROR_ACTIONS, ConfigError, EnvSpec, check_mirror_maps

from .storage import MiniBatch

_Forward = Callable[..., Tuple[torch.Tensor, Optional[torch.Tensor]]]


class Mirror:
    """The mirror images of the actor's and critic's inputs (groups concatenated) and of the actions."""

    def __init__(self, actor: Tuple[torch.Tensor, torch.Tensor], critic: Tuple[torch.Tensor, torch.Tensor],
                 actions: Tuple[torch.Tensor, torch.Tensor]):
        self._actor, self._critic, self._actions = actor, critic, actions

    @staticmethod
    def _apply(x: torch.Tensor, index_sign: Tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        index, sign = index_sign
        return x.index_select(-1, index) * sign

    def actor_obs(self, x: torch.Tensor) -> torch.Tensor:
        return self._apply(x, self._actor)

    def critic_obs(self, x: torch.Tensor) -> torch.Tensor:
        return self._apply(x, self._critic)

    def actions(self, x: torch.Tensor) -> torch.Tensor:
        return self._apply(x, self._actions)

    def augment(self, b: MiniBatch) -> Tuple[MiniBatch, int]:
        """The minibatch and its mirror image concatenated along the batch dimension (0, or 1 for recurrent
        sequences ``[T, b, ...]``), and that dimension; the original samples come first."""
        recurrent = b.resets is not None
        dim = 1 if recurrent else 0

        def both(x: torch.Tensor, mirrored: torch.Tensor) -> torch.Tensor:
            return torch.cat((x, mirrored), dim=dim)

        critic_obs = both(b.critic_obs, self.critic_obs(b.critic_obs))
        actor_obs = critic_obs if b.critic_obs is b.actor_obs else both(b.actor_obs, self.actor_obs(b.actor_obs))
        states: List[Optional[torch.Tensor]] = [None, None, None]
        if recurrent:
            if b.actor_state is not None and b.mirror_actor_state is None:
                raise RuntimeError("ppo symmetry: a recurrent minibatch without the mirrored sequences' states")
            states = [None if b.actor_state is None else torch.cat((b.actor_state, b.mirror_actor_state), dim=1),
                      None if b.critic_state is None else torch.cat((b.critic_state, b.mirror_critic_state), dim=1),
                      both(b.resets, b.resets)]
        out = MiniBatch(
            actor_obs, critic_obs, both(b.actions, self.actions(b.actions)), both(b.old_log_probs, b.old_log_probs),
            both(b.old_means, self.actions(b.old_means)), both(b.old_values, b.old_values),
            both(b.returns, b.returns), both(b.advantages, b.advantages), *states,
        )
        return out, dim

    @staticmethod
    def original(x: torch.Tensor, dim: int) -> torch.Tensor:
        """The rollout's own samples of an augmented tensor: its first half along ``dim``."""
        return x.narrow(dim, 0, x.shape[dim] // 2)

    def mirror_loss(self, means: torch.Tensor, dim: int) -> torch.Tensor:
        """Mean squared difference between the action means of the mirrored samples and the mirrored (detached)
        action means of the originals, in an augmented batch."""
        own, mirrored = means.chunk(2, dim=dim)
        return (mirrored - self.actions(own.detach())).square().mean()

    def forward_both(self, forward: _Forward, x: torch.Tensor, mirrored_x: torch.Tensor, state: torch.Tensor,
                     mirrored_state: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One rollout step of a recurrent network on the observations and their mirror images in one batched call:
        (output for ``x``, next state, next mirrored state)."""
        out, next_state = forward(torch.cat((x, mirrored_x)), torch.cat((state, mirrored_state), dim=1))
        own, mirrored = next_state.chunk(2, dim=1)
        return out[: x.shape[0]], own.contiguous(), mirrored.contiguous()


def build_mirror(spec: EnvSpec, symmetry: str, actor_groups: Sequence[str], critic_groups: Sequence[str],
                 device: torch.device, env_name: str = "") -> Optional[Mirror]:
    """The :class:`Mirror` for ``symmetry: augment`` (None for "none"); a ConfigError on ``symmetry`` when the env
    declares no mirror map for a group PPO reads or for the actions (EnvError when a map is malformed)."""
    if symmetry == "none":
        return None
    maps = check_mirror_maps(spec)
    needed = list(dict.fromkeys(list(actor_groups) + list(critic_groups) + [MIRROR_ACTIONS]))
    missing = [name for name in needed if name not in maps]
    if missing:
        env = f"env {env_name!r}" if env_name else "the env"
        why = f"{env} declares no mirror map (it implements no fastembody_core.MirrorableEnv)" if not maps else \
            f"{env}'s mirror map lacks {missing} (it mirrors {sorted(maps)})"
        raise ConfigError(f"{symmetry!r} needs the left/right mirror of the observation groups PPO reads and of the "
                          f"actions, but {why}; use symmetry: none", key="symmetry")
    return Mirror(_joined(maps, actor_groups, device), _joined(maps, critic_groups, device),
                  _joined(maps, [MIRROR_ACTIONS], device))


def _joined(maps: Mapping[str, Tuple[Sequence[int], Sequence[float]]], names: Sequence[str],
            device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
    """Index and sign tensors of the concatenation of ``names`` (each group's indices shifted by its offset)."""
    index: List[int] = []
    sign: List[float] = []
    for name in names:
        perm, signs = maps[name]
        offset = len(index)
        index.extend(offset + int(i) for i in perm)
        sign.extend(float(s) for s in signs)
    return (torch.tensor(index, dtype=torch.long, device=device),
            torch.tensor(sign, dtype=torch.float32, device=device))
