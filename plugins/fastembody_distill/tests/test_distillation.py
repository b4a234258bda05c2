"""Distillation on the core's on-policy trainer: it learns, collects as configured, resumes exactly, exports
only the deployable observation, and reports each bad input with one named error."""
import json
import warnings

import pytest
import torch

from fastembody_core import CheckpointError, ConfigError, OnPolicyTrainer, OnPolicyTrainerParams, RunContext
from fastembody_core import GaussianActor, load_checkpoint, load_trained_policy, policy_spec
from fastembody_core.testing import learning_precision, learning_seed
from fastembody_distill.config import DistillationParams
from fastembody_distill.distillation import Distillation, PrivilegedObservationWarning
from fastembody_distill.plugin import make_distillation

SMALL = dict(student_obs_groups=["policy"], hidden_dims=[32, 32])


def _train(env, params, iterations, run_dir=None, resume=False, seed=0, steps=16):
    torch.manual_seed(seed)
    ctx = RunContext(seed=seed, run_dir=run_dir, resume=resume, config={"algorithm": {"name": "distillation"}})
    algorithm = Distillation(env.spec(), params, ctx)
    trainer_params = OnPolicyTrainerParams(
        max_iterations=iterations, num_steps_per_env=steps, save_interval=2, progress=False, tensorboard=False,
        init_at_random_ep_len=False,
    )
    summary = OnPolicyTrainer(env, algorithm, trainer_params, ctx).train()
    return algorithm, summary


def _losses(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)["Loss/behavior"] for line in lines]


def _student_return(algorithm, env, run_episode):
    algorithm.eval_mode()
    return run_episode(env, algorithm.act_inference, reset=algorithm.reset)


@pytest.mark.learning
@pytest.mark.parametrize("collection", ["student", "teacher"])
def test_imitation_loss_falls_and_student_beats_random(tmp_path, pd_teacher, pointmass, run_episode, collection):
    params = DistillationParams(teacher_checkpoint=str(pd_teacher), collection=collection, history_length=2,
                                learning_rate=3e-3, precision=learning_precision("fp32"), **SMALL)
    seed = learning_seed(0)
    algorithm, _ = _train(pointmass(64, seed=seed), params, iterations=15, run_dir=tmp_path / "run", seed=seed)
    losses = _losses(tmp_path / "run")
    assert losses[-1] < 0.25 * losses[0], losses

    env = pointmass(64, seed=123 + seed)
    student = _student_return(algorithm, env, run_episode)
    teacher = run_episode(env, algorithm.teacher.act)
    random = run_episode(env, lambda obs: torch.rand(64, 2) * 2 - 1)
    # The PD teacher scores about -17 and a random policy about -76 here; the student reaches about -16.
    assert student > random + 0.8 * (teacher - random), (student, teacher, random)


@pytest.mark.learning
@pytest.mark.parametrize("rnn_type", ["gru", "lstm"])
def test_recurrent_student_learns_with_truncated_bptt(tmp_path, pd_teacher, pointmass, rnn_type):
    params = DistillationParams(teacher_checkpoint=str(pd_teacher), rnn_type=rnn_type, rnn_hidden_size=32,
                                history_length=1, gradient_length=5, learning_rate=3e-3,
                                precision=learning_precision("fp32"), **SMALL)
    seed = learning_seed(0)
    algorithm, _ = _train(pointmass(64, seed=seed), params, iterations=20, run_dir=tmp_path / "run", seed=seed)
    losses = _losses(tmp_path / "run")
    # seeds 0-9, one group of all envs: last/first 0.01-0.02 (GRU), 0.01-0.08 (LSTM); 32 envs x 8 iterations left
    # the LSTM at 0.3-1.2. With the default 4 recurrent minibatches: seeds 0-5 pass in fp32 and bf16.
    assert losses[-1] < 0.25 * losses[0], losses
    assert algorithm.student.is_recurrent
    # one layer of 64 envs x 32 units; an LSTM stacks (h, c) in one tensor
    assert algorithm.student_state.shape == ((2 if rnn_type == "lstm" else 1), 64, 32)


def test_collection_modes_choose_who_acts(pd_teacher, pointmass):
    env = pointmass(256)
    obs = env.reset()

    def actions(**kwargs):
        params = DistillationParams(teacher_checkpoint=str(pd_teacher), action_noise_std=0.0, history_length=1,
                                    precision="fp32", **SMALL, **kwargs)
        algorithm = Distillation(env.spec(), params, RunContext())
        algorithm.setup(4)
        with torch.inference_mode():
            act = algorithm.act(obs)
            labels = algorithm.storage.teacher_actions[0].clone()
            student, _, _ = algorithm.student.act(obs["policy"], None)
        return act, labels, student

    act, labels, student = actions(collection="teacher")
    assert torch.equal(act, labels)
    act, labels, student = actions(collection="student")
    assert torch.equal(act, student) and not torch.equal(act, labels)
    act, labels, student = actions(collection="schedule", beta_start=0.5, beta_end=0.5)
    from_teacher = (act == labels).all(dim=1).float().mean()
    assert 0.35 < float(from_teacher) < 0.65 and bool(((act == labels) | (act == student)).all())


@pytest.mark.parametrize("rnn_type", ["none", "gru"])
def test_bf16_collection_and_gradients_stay_close_to_fp32_and_states_fp32(go2_spec, go2_teacher, rnn_type):
    spec = go2_spec(num_envs=64)
    torch.manual_seed(0)
    obs = {g: torch.randn(64, *shape) for g, shape in spec.observation_shapes.items()}
    runs = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(1)  # the same student in both runs
        params = DistillationParams(teacher_checkpoint=str(go2_teacher()), rnn_type=rnn_type, history_length=1,
                                    rnn_hidden_size=32, hidden_dims=[64, 64], action_noise_std=0.0,
                                    num_mini_batches=1, gradient_length=4, max_grad_norm=None, precision=precision)
        algorithm = make_distillation(spec, params, RunContext())
        algorithm.setup(4)
        for _ in range(4):
            actions = algorithm.act(obs)
            algorithm.process_env_step(obs, torch.zeros(64), torch.zeros(64, dtype=torch.bool), {})
        if algorithm.student_state is not None:
            assert algorithm.student_state.dtype == torch.float32
        labels = algorithm.storage.teacher_actions.clone()
        loss = algorithm.update(obs)["behavior"]  # one gradient step: the gradients are at the initial weights
        grads = torch.cat([p.grad.flatten() for p in algorithm.student.parameters()])
        runs[precision] = (actions, labels, loss, grads)
    (a32, l32, loss32, g32), (a16, l16, loss16, g16) = runs["fp32"], runs["bf16"]
    assert not torch.equal(a16, a32) and not torch.equal(l16, l32)  # bf16 did run, for the student and the teacher
    # measured 0.4 % (actions), 0.05 % (loss), 0.3-0.4 % (gradients); bf16 keeps ~3 significant digits per matmul
    assert (a16 - a32).abs().max() < 0.05 * a32.abs().max() and (l16 - l32).abs().max() < 0.05 * l32.abs().max()
    assert abs(loss16 - loss32) < 0.05 * loss32, (loss16, loss32)
    assert float((g16 - g32).norm() / g32.norm()) < 0.05
    assert float(torch.nn.functional.cosine_similarity(g16, g32, dim=0)) > 0.99


def test_recurrent_minibatches_are_groups_of_whole_env_trajectories(go2_spec, go2_teacher):
    spec = go2_spec(num_envs=8)
    obs = {g: torch.randn(8, *shape) for g, shape in spec.observation_shapes.items()}
    params = DistillationParams(teacher_checkpoint=str(go2_teacher()), rnn_type="gru", history_length=1,
                                rnn_hidden_size=16, hidden_dims=[16], num_mini_batches=2, gradient_length=4,
                                num_learning_epochs=2)
    algorithm = make_distillation(spec, params, RunContext())
    algorithm.setup(6)
    batches = []
    forward = algorithm.student.forward
    algorithm.student.forward = lambda inputs, state, resets: batches.append(inputs.shape[:2]) or forward(
        inputs, state, resets)
    for _ in range(6):
        algorithm.act(obs)
        algorithm.process_env_step(obs, torch.zeros(8), torch.zeros(8, dtype=torch.bool), {})
    algorithm.update(obs)
    # 2 epochs x 2 groups of 4 envs x windows of 4 and 2 steps: one gradient step each
    assert batches == [(4, 4), (2, 4)] * 4
    assert algorithm.optimizer.state_dict()["state"][0]["step"] == 8

    with pytest.raises(ConfigError, match="3 minibatches do not divide the envs") as err:
        make_distillation(spec, DistillationParams(teacher_checkpoint=str(go2_teacher()), rnn_type="gru",
                                                   history_length=1, num_mini_batches=3), RunContext()).setup(6)
    assert err.value.key == "algorithm.params.num_mini_batches"


def test_schedule_moves_from_teacher_to_student(tmp_path, pd_teacher, pointmass):
    params = DistillationParams(teacher_checkpoint=str(pd_teacher), collection="schedule", beta_decay_iterations=4, **SMALL)
    _train(pointmass(16), params, iterations=5, run_dir=tmp_path / "run", steps=4)
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [x["Distillation/teacher_probability"] for x in lines] == [1.0, 0.75, 0.5, 0.25, 0.0]


def test_learning_rate_decay_reaches_the_optimiser(tmp_path, pd_teacher, pointmass):
    params = DistillationParams(teacher_checkpoint=str(pd_teacher), learning_rate=1e-3, learning_rate_end=1e-4,
                                learning_rate_decay_iterations=2, **SMALL)
    algorithm, _ = _train(pointmass(16), params, iterations=4, run_dir=tmp_path / "run", steps=4)
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [round(x["Loss/learning_rate"], 6) for x in lines] == [1e-3, 5.5e-4, 1e-4, 1e-4]
    assert algorithm.optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)


def test_resume_through_the_trainer_is_exact(tmp_path, pd_teacher, pointmass):
    params = DistillationParams(teacher_checkpoint=str(pd_teacher), history_length=3,
                                learning_rate_end=1e-4, learning_rate_decay_iterations=3, **SMALL)  # mid-decay
    whole, _ = _train(pointmass(16), params, iterations=4, run_dir=tmp_path / "whole", steps=8)
    _train(pointmass(16), params, iterations=2, run_dir=tmp_path / "split", steps=8)
    resumed, summary = _train(pointmass(16, seed=99), params, iterations=4, run_dir=tmp_path / "split",
                              resume=True, steps=8)
    assert summary["iteration"] == 4 and resumed.iteration == 4
    for (name, a), b in zip(whole.student.state_dict().items(), resumed.student.state_dict().values()):
        assert torch.equal(a, b), name
    assert _losses(tmp_path / "whole") == _losses(tmp_path / "split")


def test_checkpoint_holds_the_teacher_so_eval_works_without_its_file(tmp_path, pd_teacher, pointmass, run_episode):
    params = DistillationParams(teacher_checkpoint=str(pd_teacher), history_length=2, **SMALL)
    trained, _ = _train(pointmass(64), params, iterations=3, run_dir=tmp_path / "run")
    pd_teacher.unlink()
    rebuilt = make_distillation(pointmass(8).spec(), params, RunContext())  # no error until training starts
    with pytest.raises(CheckpointError, match="does not exist"):
        rebuilt.setup(16)
    payload = load_checkpoint(tmp_path / "run" / "checkpoints" / "model_3.pt")
    assert payload["algorithm"] == "distillation"
    rebuilt.load_state_dict(payload["algorithm_state"])
    rebuilt_return = run_episode(pointmass(8, seed=5), rebuilt.act_inference, rebuilt.reset)
    assert rebuilt_return == run_episode(pointmass(8, seed=5), trained.act_inference, trained.reset)
    rebuilt.setup(16)  # the teacher came back with the checkpoint: training can continue


def test_bad_teacher_inputs_are_named_errors(tmp_path, go2_spec, go2_teacher, teacher_file):
    spec = go2_spec()
    with pytest.raises(ConfigError, match="algorithm.params.teacher_checkpoint: missing"):
        make_distillation(spec, DistillationParams(), RunContext())
    with pytest.raises(CheckpointError, match=r"expects observations of shape \(48,\).*gives shape \(45,\)"):
        make_distillation(go2_spec(shapes={"policy": (45,), "deployable": (45,)}),
                          DistillationParams(teacher_checkpoint=str(go2_teacher())), RunContext())
    other = tmp_path / "other" / "model_1.pt"
    other.parent.mkdir()
    torch.save({"not": "ours"}, other)
    with pytest.raises(CheckpointError, match="is not a FastEmbody checkpoint"):
        make_distillation(spec, DistillationParams(teacher_checkpoint=str(other)), RunContext())


def test_distillation_checkpoint_is_not_a_teacher(tmp_path, pd_teacher, pointmass):
    params = DistillationParams(teacher_checkpoint=str(pd_teacher), **SMALL)
    _train(pointmass(16), params, iterations=2, run_dir=tmp_path / "student", steps=4)
    again = DistillationParams(teacher_checkpoint=str(tmp_path / "student"), **SMALL)
    with pytest.raises(CheckpointError, match="written by algorithm 'distillation', which stores no teacher policy"):
        make_distillation(pointmass(16).spec(), again, RunContext())


def test_privileged_student_groups_warn_by_name(go2_spec, go2_teacher):
    teacher = str(go2_teacher())
    with pytest.warns(PrivilegedObservationWarning, match=r"group 'policy' contains \['base_lin_vel'\]"):
        make_distillation(go2_spec(), DistillationParams(teacher_checkpoint=teacher, student_obs_groups=["policy"]),
                          RunContext())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_distillation(go2_spec(), DistillationParams(teacher_checkpoint=teacher), RunContext())


@pytest.mark.parametrize("history, rnn_type", [(1, "none"), (5, "none"), (1, "lstm")])
def test_export_reads_only_the_deployable_frame(go2_spec, go2_teacher, history, rnn_type):
    spec = go2_spec()
    params = DistillationParams(teacher_checkpoint=str(go2_teacher()), history_length=history, rnn_type=rnn_type,
                                rnn_hidden_size=16, hidden_dims=[32])
    module = make_distillation(spec, params, RunContext()).export_policy()
    assert module.obs_groups == ["deployable"]
    assert not set(spec.observation_terms["deployable"]) & set(spec.privileged_terms)
    frame = torch.randn(2, 45)
    if hasattr(module, "initial_state"):
        actions, h = module(frame, module.initial_state(2))
        assert h.shape == module.initial_state(2).shape
    else:
        actions = module(frame)
    assert actions.shape == (2, 12)
    with pytest.raises(RuntimeError):
        module(torch.randn(2, 48), *([module.initial_state(2)] if hasattr(module, "initial_state") else []))


@pytest.mark.parametrize("history", [1, 3])
def test_checkpoint_carries_the_student_as_a_policy_another_algorithm_starts_from(tmp_path, pd_teacher, pointmass,
                                                                                    history):
    rnn = dict(rnn_type="gru", rnn_hidden_size=16) if history == 1 else {}
    params = DistillationParams(teacher_checkpoint=str(pd_teacher), history_length=history, **rnn, **SMALL)
    trained, _ = _train(pointmass(16), params, iterations=2, run_dir=tmp_path / "run", steps=4)
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "model_2.pt")["algorithm_state"]
    if history > 1:  # the frame stacking lives outside the network: not a policy another actor could be
        assert "policy" not in state
        return
    spec = policy_spec(["policy"], 4, 2, [32, 32], obs_normalization=True, rnn_type="gru", rnn_hidden_size=16)
    actor = GaussianActor(spec)
    load_trained_policy(actor.model, spec, str(tmp_path / "run"), "init_policy")
    trained.eval_mode()
    env_a, env_b = pointmass(8, seed=3), pointmass(8, seed=3)
    obs_a, obs_b, h = env_a.get_observations(), env_b.get_observations(), actor.model.initial_state(8)
    trained.reset()
    with torch.inference_mode():
        for _ in range(10):
            expected = trained.act_inference(obs_a)
            mean, h = actor(obs_b["policy"], h)
            torch.testing.assert_close(mean, expected)
            obs_a, _, _, _ = env_a.step(expected)
            obs_b, _, _, _ = env_b.step(mean)
