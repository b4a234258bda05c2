"""``check_vector_env`` and ``check_algorithm``: what a plugin author runs in their own tests (in the spirit of
gymnasium's ``check_env``). Each raises ``AssertionError`` with one sentence naming the rule an env or algorithm
breaks; both return quietly when it keeps every rule :mod:`fastembody_core.contracts` states.

    from fastembody_core.testing import check_algorithm, check_vector_env

    def test_my_env_keeps_the_contract():
        check_vector_env(MyEnv(MyParams(num_envs=8)))

    def test_my_algorithm_keeps_the_contract():
        env = MyEnv(MyParams(num_envs=8))
        check_algorithm(lambda: MyAlgorithm(env.spec(), MyAlgoParams(), RunContext()), env)
"""
import io
from typing import Any, Callable, Dict, Mapping

import torch

from .contracts import AlgorithmHandle, VectorEnv


def _fail(who: str, message: str) -> None:
    raise AssertionError(f"{who}: {message}")


def _check_obs(who: str, env: VectorEnv, obs: Any, where: str) -> None:
    if not isinstance(obs, Mapping):
        _fail(who, f"{where} must return a dict of observation groups, got {type(obs).__name__}")
    missing = [g for g in env.observation_shapes if g not in obs]
    if missing:
        _fail(who, f"{where} lacks observation group(s) {missing} named in observation_shapes")
    for group, shape in env.observation_shapes.items():
        tensor = obs[group]
        want = (int(env.num_envs), *tuple(shape))
        if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != want:
            got = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor).__name__
            _fail(who, f"{where}[{group!r}] must be a tensor of shape {want}, got {got}")
        if not tensor.is_floating_point():
            _fail(who, f"{where}[{group!r}] must be floating point, got {tensor.dtype}")
        if tensor.device != torch.device(env.device):
            _fail(who, f"{where}[{group!r}] is on {tensor.device}, the env's device is {env.device}")
        if not bool(torch.isfinite(tensor).all()):
            _fail(who, f"{where}[{group!r}] holds NaN/inf")


def _random_actions(env: VectorEnv, generator: torch.Generator) -> torch.Tensor:
    actions = torch.rand(int(env.num_envs), int(env.num_actions), generator=generator) * 2.0 - 1.0
    return actions.to(env.device)


def check_vector_env(env: VectorEnv, steps: int = 0, seed: int = 0) -> None:
    """Attributes, reset/step semantics, auto-reset, ``time_outs``, a settable ``episode_length_buf``, the spec and
    (when the env saves state) an exact ``state_dict`` round trip through ``torch.load(weights_only=True)``.
    ``steps``: how many random-action steps to take (default: one episode plus a few, at most 300)."""
    who = f"check_vector_env({type(env).__name__})"
    for name, kind in (("num_envs", int), ("num_actions", int), ("max_episode_length", int)):
        value = getattr(env, name, None)
        if not isinstance(value, kind) or isinstance(value, bool) or value < 1:
            _fail(who, f"{name} must be a positive int, got {value!r}")
    if not isinstance(getattr(env, "step_dt", None), (int, float)) or not env.step_dt > 0:
        _fail(who, f"step_dt must be a positive number of seconds, got {getattr(env, 'step_dt', None)!r}")
    shapes = getattr(env, "observation_shapes", None)
    if not isinstance(shapes, Mapping) or "policy" not in shapes:
        _fail(who, "observation_shapes must be a dict of group -> shape with at least 'policy'")
    generator = torch.Generator().manual_seed(seed)
    _check_obs(who, env, env.reset(), "reset()")
    _check_obs(who, env, env.get_observations(), "get_observations()")
    buf = env.episode_length_buf
    if not isinstance(buf, torch.Tensor) or buf.dtype != torch.long or tuple(buf.shape) != (env.num_envs,):
        _fail(who, f"episode_length_buf must be a long tensor of shape ({env.num_envs},)")
    env.episode_length_buf = torch.randint_like(buf, high=max(1, int(env.max_episode_length)))  # the trainer does this
    _check_obs(who, env, env.get_observations(), "get_observations() after setting episode_length_buf")
    spec = env.spec()
    if spec.num_envs != env.num_envs or spec.num_actions != env.num_actions or \
            {k: tuple(v) for k, v in spec.observation_shapes.items()} != {k: tuple(v) for k, v in shapes.items()}:
        _fail(who, "spec() disagrees with num_envs / num_actions / observation_shapes")
    steps = steps or min(int(env.max_episode_length) + 5, 300)
    any_done = False
    for step in range(steps):
        result = env.step(_random_actions(env, generator))
        if not isinstance(result, tuple) or len(result) != 4:
            _fail(who, "step() must return (obs, rewards, dones, extras)")
        obs, rewards, dones, extras = result
        _check_obs(who, env, obs, f"step() #{step} obs")
        n = int(env.num_envs)
        if not isinstance(rewards, torch.Tensor) or tuple(rewards.shape) != (n,) or not rewards.is_floating_point():
            _fail(who, f"step() rewards must be a float tensor of shape ({n},)")
        if not bool(torch.isfinite(rewards).all()):
            _fail(who, f"step() #{step} rewards hold NaN/inf")
        if not isinstance(dones, torch.Tensor) or tuple(dones.shape) != (n,):
            _fail(who, f"step() dones must be a tensor of shape ({n},)")
        if not isinstance(extras, dict) or "time_outs" not in extras:
            _fail(who, "step() extras must be a dict holding 'time_outs'")
        time_outs = extras["time_outs"]
        if not isinstance(time_outs, torch.Tensor) or tuple(time_outs.shape) != (n,):
            _fail(who, f"extras['time_outs'] must be a tensor of shape ({n},)")
        if bool((time_outs.bool() & ~dones.bool()).any()):
            _fail(who, "an env is marked time_outs but not done")
        done = dones.bool()
        if bool(done.any()):
            any_done = True
            if bool((env.episode_length_buf[done.to(env.episode_length_buf.device)] > 1).any()):
                _fail(who, "a done env's episode_length_buf was not reset by step() (auto-reset)")
            if "episode" in extras and not isinstance(extras["episode"], dict):
                _fail(who, "extras['episode'] must be a dict of per-episode statistics")
    if not any_done:
        _fail(who, f"no env finished within {steps} steps of random actions (max_episode_length "
                   f"{env.max_episode_length}): time-outs must end episodes")
    _check_state_round_trip(who, env, generator)


def _check_state_round_trip(who: str, env: VectorEnv, generator: torch.Generator) -> None:
    state = env.state_dict()
    if not state:
        return  # the env restarts from a fresh reset on resume (allowed)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    try:
        saved = torch.load(buffer, weights_only=True)
    except Exception as exc:
        _fail(who, f"state_dict() must load with torch.load(weights_only=True): {type(exc).__name__}: {exc}")
    actions = [_random_actions(env, generator) for _ in range(3)]
    first = [env.step(a)[0] for a in actions]
    env.load_state_dict(saved)
    second = [env.step(a)[0] for a in actions]
    for k, (a, b) in enumerate(zip(first, second)):
        for group in a:
            if not torch.equal(a[group], b[group]):
                _fail(who, f"after load_state_dict(state_dict()) step {k} gave other {group!r} observations: "
                           "the state does not hold everything the env's future depends on")


def _first_actions(algorithm: AlgorithmHandle, obs: Dict[str, torch.Tensor]) -> torch.Tensor:
    algorithm.reset()
    return algorithm.act_inference(obs)


def check_algorithm(make_algorithm: Callable[[], AlgorithmHandle], env: VectorEnv, iterations: int = 2,
                    num_steps_per_env: int = 8) -> None:
    """Run ``iterations`` trainer iterations of a fresh ``make_algorithm()`` on ``env`` (rollout under
    ``torch.inference_mode()``, then ``update``), then check: losses are finite floats; ``act_inference`` gives
    ``[num_envs, num_actions]`` and is deterministic; ``state_dict`` loads with ``weights_only=True`` into another
    fresh instance through ``load_state_dict`` and ``load_policy_state`` with identical actions; the export module
    has ``obs_groups`` and matches ``act_inference`` (feed-forward policies)."""
    algorithm = make_algorithm()
    who = f"check_algorithm({type(algorithm).__name__})"
    algorithm.setup(num_steps_per_env)
    algorithm.train_mode()
    obs = env.reset()
    for iteration in range(iterations):
        with torch.inference_mode():
            for _ in range(num_steps_per_env):
                actions = algorithm.act(obs)
                if tuple(actions.shape) != (env.num_envs, env.num_actions):
                    _fail(who, f"act() must return ({env.num_envs}, {env.num_actions}) actions, got "
                               f"{tuple(actions.shape)}")
                obs, rewards, dones, extras = env.step(actions)
                algorithm.process_env_step(obs, rewards, dones, extras)
        try:
            losses = algorithm.update(obs)
        except RuntimeError as exc:
            if "inference" in str(exc).lower():
                _fail(who, f"update() used a tensor made under torch.inference_mode() in act()/process_env_step() "
                           f"for backward ({exc}); store inputs and recompute the graph in update()")
            raise
        if not isinstance(losses, Mapping) or not all(isinstance(v, (int, float)) for v in losses.values()):
            _fail(who, "update() must return a dict of plain floats (logged as Loss/<name>)")
        bad = [k for k, v in losses.items() if not torch.isfinite(torch.tensor(float(v)))]
        if bad:
            _fail(who, f"update() #{iteration} returned non-finite {bad}")
    algorithm.eval_mode()
    obs = env.get_observations()
    with torch.inference_mode():
        reference = _first_actions(algorithm, obs)
        if tuple(reference.shape) != (env.num_envs, env.num_actions):
            _fail(who, f"act_inference() must return ({env.num_envs}, {env.num_actions}), got {tuple(reference.shape)}")
        if not torch.equal(_first_actions(algorithm, obs), reference):
            _fail(who, "act_inference() is not deterministic")
    buffer = io.BytesIO()
    torch.save(algorithm.state_dict(), buffer)
    for loader in ("load_state_dict", "load_policy_state"):
        buffer.seek(0)
        try:
            state = torch.load(buffer, weights_only=True)
        except Exception as exc:
            _fail(who, f"state_dict() must hold only tensors, numbers, strings, lists and dicts "
                       f"(torch.load(weights_only=True) failed: {type(exc).__name__}: {exc})")
        other = make_algorithm()
        getattr(other, loader)(state)
        other.eval_mode()
        with torch.inference_mode():
            if not torch.allclose(_first_actions(other, obs), reference, atol=1e-6):
                _fail(who, f"a fresh instance after {loader}(state_dict()) acts differently")
    module = algorithm.export_policy()
    groups = getattr(module, "obs_groups", None)
    if not isinstance(groups, (list, tuple)) or not groups or any(g not in obs for g in groups):
        _fail(who, f"export_policy() module must have obs_groups naming the env's groups, got {groups!r}")
    if not hasattr(module, "initial_state"):
        flat = torch.cat([obs[g].reshape(env.num_envs, -1) for g in groups], dim=-1).detach().cpu().float()
        with torch.no_grad():
            exported = module(flat)
        exported = exported[0] if isinstance(exported, tuple) else exported
        if not torch.allclose(exported, reference.detach().cpu().float(), atol=1e-4):
            _fail(who, "export_policy() module disagrees with act_inference() on the same observations")
