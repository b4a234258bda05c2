"""The on-policy trainer: checkpoints, exact resume, NaN guards, interrupts, logs."""
import io
import json
import signal

import pytest
import torch
from core.fakes import FakeAlgorithm, FakeAlgorithmParams, FakeEnv, FakeEnvParams

from fastembody_core import CheckpointError, OnPolicyTrainerParams, RunContext, TrainingError
from fastembody_core.checkpoint import first_non_finite, list_checkpoints, load_checkpoint
from fastembody_core.run_logging import RunLogger, read_metrics
from fastembody_core.seeding import seed_everything
from fastembody_core import trainer as trainer_module
from fastembody_core.trainer import OnPolicyTrainer, TrainingInterrupted


def make_trainer(run_dir, max_iterations, resume=False, seed=3, env=None, algorithm=None, **trainer):
    """What the pipeline does: seed, build env, algorithm, trainer."""
    ctx = RunContext(seed=seed, run_dir=run_dir, resume=resume, config={"algorithm": {"name": "fake-algorithm"}})
    seed_everything(seed)
    fake_env = FakeEnv(FakeEnvParams(**(env or {})), ctx)
    fake_algorithm = FakeAlgorithm(fake_env.spec(), FakeAlgorithmParams(**(algorithm or {})), ctx)
    settings = dict(max_iterations=max_iterations, num_steps_per_env=8, save_interval=2, progress=False, tensorboard=False)
    settings.update(trainer)
    return OnPolicyTrainer(fake_env, fake_algorithm, OnPolicyTrainerParams(**settings), ctx)


def test_trains_saves_checkpoints_and_logs_metrics(tmp_path):
    trainer = make_trainer(tmp_path, max_iterations=5, tensorboard=True)
    summary = trainer.train()
    assert summary["iteration"] == 5
    assert summary["env_steps"] == 5 * 8 * 4
    assert [i for i, _ in list_checkpoints(tmp_path)] == [2, 4, 5]  # every 2 and at the end
    payload = load_checkpoint(tmp_path / "checkpoints" / "model_5.pt")
    assert payload["iteration"] == 5 and payload["algorithm"] == "fake-algorithm"
    assert set(payload["trainer_state"]["rng"]) >= {"python", "numpy", "torch"}
    assert payload["env_state"]["global_step"] == 5 * 8
    assert payload["config"] == {"algorithm": {"name": "fake-algorithm"}}
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["iteration"] for r in records] == [1, 2, 3, 4, 5]
    for key in ("Train/mean_reward", "Train/mean_episode_length", "Loss/surrogate", "Loss/value_function",
                "Perf/total_fps", "Perf/collection_time", "Perf/learning_time", "Episode/distance",
                "Episode/steps", "Policy/mean_std", "env_steps"):
        assert key in records[-1], key
    assert 1 <= records[-1]["Train/mean_episode_length"] <= 12
    assert list(tmp_path.glob("events.out.tfevents.*")), "no TensorBoard event file"
    assert summary["mean_reward"] == pytest.approx(records[-1]["Train/mean_reward"])


def test_resume_gives_identical_parameters(tmp_path):
    straight = make_trainer(tmp_path / "straight", max_iterations=6)
    straight.train()

    first = make_trainer(tmp_path / "split", max_iterations=3, save_interval=10)
    first.train()
    assert [i for i, _ in list_checkpoints(tmp_path / "split")] == [3]
    resumed = make_trainer(tmp_path / "split", max_iterations=6, resume=True)
    summary = resumed.train()

    assert summary["iteration"] == 6
    assert torch.equal(resumed.algorithm.flat_parameters(), straight.algorithm.flat_parameters())
    assert resumed.algorithm.optimizer.state_dict()["state"][0]["step"] == 6 * 2
    straight_log = read_metrics(tmp_path / "straight" / "metrics.jsonl")
    split_log = read_metrics(tmp_path / "split" / "metrics.jsonl")
    assert [r["iteration"] for r in split_log] == [1, 2, 3, 4, 5, 6]
    for a, b in zip(straight_log, split_log):
        assert a["Train/mean_reward"] == b["Train/mean_reward"]
        assert a["Loss/surrogate"] == b["Loss/surrogate"]


@pytest.mark.parametrize("forget", ["env_state", "python", "numpy", "torch"])
def test_exact_resume_test_can_fail(tmp_path, monkeypatch, forget):
    """Forgetting the env state or any one RNG on resume changes the parameters (so the test above can fail)."""
    straight = make_trainer(tmp_path / "a", max_iterations=4)
    straight.train()
    make_trainer(tmp_path / "b", max_iterations=2).train()
    resumed = make_trainer(tmp_path / "b", max_iterations=4, resume=True)
    if forget == "env_state":
        resumed.env.load_state_dict = lambda state: None
    else:
        restore = trainer_module.restore_rng_state
        monkeypatch.setattr(trainer_module, "restore_rng_state", lambda s: restore({k: v for k, v in s.items() if k != forget}))
    resumed.train()
    assert not torch.equal(resumed.algorithm.flat_parameters(), straight.algorithm.flat_parameters())


def test_resume_without_checkpoint_is_a_named_error(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint in .*checkpoints"):
        make_trainer(tmp_path, max_iterations=2, resume=True).train()


def test_resume_at_the_end_does_nothing(tmp_path):
    make_trainer(tmp_path, max_iterations=2).train()
    summary = make_trainer(tmp_path, max_iterations=2, resume=True).train()
    assert summary["iteration"] == 2
    assert len(read_metrics(tmp_path / "metrics.jsonl")) == 2


def test_nan_observation_stops_and_keeps_last_good_checkpoint(tmp_path):
    trainer = make_trainer(tmp_path, max_iterations=6, env={"nan_obs_at_step": 8 * 2 + 3})
    with pytest.raises(TrainingError, match=r"NaN/inf in observation groups 'policy', 'critic' and rewards .*iteration 3.*model_2\.pt"):
        trainer.train()
    assert [i for i, _ in list_checkpoints(tmp_path)] == [2]
    assert first_non_finite(load_checkpoint(tmp_path / "checkpoints" / "model_2.pt")["algorithm_state"]) is None


def test_nan_loss_stops_without_writing_a_nan_checkpoint(tmp_path):
    trainer = make_trainer(tmp_path, max_iterations=6, save_interval=1, algorithm={"nan_loss_at_update": 4})
    with pytest.raises(TrainingError, match=r"loss 'surrogate' at iteration 4 .*model_3\.pt"):
        trainer.train()
    assert [i for i, _ in list_checkpoints(tmp_path)] == [1, 2, 3]


def test_nan_check_can_be_disabled_but_checkpoint_still_refuses_nan(tmp_path):
    trainer = make_trainer(tmp_path, max_iterations=3, save_interval=1, check_for_nan=False,
                           algorithm={"nan_loss_at_update": 2})
    with pytest.raises(TrainingError, match=r"refusing to write checkpoint .*model_2\.pt.*actor\.weight"):
        trainer.train()
    assert [i for i, _ in list_checkpoints(tmp_path)] == [1]


def test_sigint_saves_a_resumable_checkpoint_and_resume_matches(tmp_path):
    straight = make_trainer(tmp_path / "straight", max_iterations=5)
    straight.train()

    interrupted = make_trainer(tmp_path / "run", max_iterations=5, save_interval=10, env={"signal_at_step": 8 + 4})
    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingInterrupted, match="SIGINT after iteration 2.*model_2.pt") as info:
        interrupted.train()
    assert info.value.exit_code == 130
    assert signal.getsignal(signal.SIGINT) is previous  # handlers restored
    assert [i for i, _ in list_checkpoints(tmp_path / "run")] == [2]

    resumed = make_trainer(tmp_path / "run", max_iterations=5, resume=True, save_interval=10)
    resumed.train()
    assert torch.equal(resumed.algorithm.flat_parameters(), straight.algorithm.flat_parameters())


def test_keep_last_checkpoints(tmp_path):
    make_trainer(tmp_path, max_iterations=7, save_interval=1, keep_last_checkpoints=2).train()
    assert [i for i, _ in list_checkpoints(tmp_path)] == [6, 7]


def test_resume_with_another_algorithm_is_refused(tmp_path):
    make_trainer(tmp_path, max_iterations=2).train()
    trainer = make_trainer(tmp_path, max_iterations=4, resume=True)
    trainer.algorithm_name = "ppo"
    with pytest.raises(CheckpointError, match="written by algorithm 'fake-algorithm', this run uses 'ppo'"):
        trainer.train()


def test_no_run_dir_trains_without_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    summary = make_trainer(None, max_iterations=2).train()
    assert summary["iteration"] == 2 and summary["checkpoint"] is None
    assert list(tmp_path.iterdir()) == []


def test_random_episode_starts_spread_episode_lengths(tmp_path):
    trainer = make_trainer(None, max_iterations=1, env={"num_envs": 64, "max_episode_length": 50})
    trainer.algorithm.setup(8)
    trainer._start()
    assert len(set(trainer.env.episode_length_buf.tolist())) > 10


def test_plain_progress_lines_every_log_interval(tmp_path):
    stream = io.StringIO()  # not a TTY: plain lines
    logger = RunLogger(tmp_path, max_iterations=4, tensorboard=False, progress=True, log_interval=2, stream=stream)
    for it in range(1, 5):
        logger.log(it, {"Train/mean_reward": 1.5, "Train/mean_episode_length": 10.0, "Perf/total_fps": 1000.0,
                        "Loss/surrogate": 0.25})
    logger.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("it 2/4 | reward 1.5 | len 10 | 1,000 steps/s")
    assert "ETA" in lines[0] and "surrogate 0.25" in lines[0]


def test_eta_leaves_out_the_slow_first_iteration(tmp_path, monkeypatch):
    clock = iter([0.0, 60.0, 61.0, 62.0])  # the first iteration compiles for 60 s, then 1 s per iteration
    monkeypatch.setattr("fastembody_core.run_logging.time.perf_counter", lambda: next(clock))
    stream = io.StringIO()
    logger = RunLogger(None, max_iterations=12, progress=True, log_interval=1, stream=stream)
    logger.log(1, {})  # starts the steady-state clock at 60 s
    logger.log(2, {})
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("ETA after the next iteration")
    assert lines[1].endswith("ETA 0:00:10"), lines  # 10 iterations left at 1 s each, not at (61 s / 2)


def test_quiet_when_progress_is_off(tmp_path):
    stream = io.StringIO()
    logger = RunLogger(None, max_iterations=2, progress=False, stream=stream)
    logger.log(1, {"Loss/x": 1.0})
    logger.close()
    assert stream.getvalue() == ""


def test_rich_progress_bar_on_a_terminal(tmp_path):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    logger = RunLogger(None, max_iterations=3, progress=True, stream=stream)
    assert logger.mode == "rich"
    logger.log(1, {"Train/mean_reward": 2.0, "Train/mean_episode_length": 5.0})
    logger.close()
    assert "it 1/3 | reward 2 | len 5" in stream.getvalue()


def test_metrics_after_the_checkpoint_are_dropped_on_resume(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps({"iteration": i}) + "\n" for i in range(1, 6)) + '{"iteration": 6, "Lo')
    RunLogger(tmp_path, max_iterations=9, start_iteration=4, tensorboard=False, progress=False).close()
    assert [r["iteration"] for r in read_metrics(path)] == [1, 2, 3, 4]


def test_init_checkpoint_starts_a_new_run_from_another_runs_weights(tmp_path, capsys):
    source = make_trainer(tmp_path / "source", max_iterations=3)
    source.train()
    capsys.readouterr()
    warm = make_trainer(tmp_path / "warm", max_iterations=1, init_checkpoint=str(tmp_path / "source"))
    assert not torch.equal(warm.algorithm.flat_parameters(), source.algorithm.flat_parameters())
    warm._load_init_checkpoint(str(tmp_path / "source"))  # what train() does first: the run dir's latest
    assert torch.equal(warm.algorithm.flat_parameters(), source.algorithm.flat_parameters())
    assert capsys.readouterr().out.strip() == \
        f"Starting from {tmp_path / 'source' / 'checkpoints' / 'model_3.pt'} (iteration 3 of that run)"
    summary = make_trainer(tmp_path / "warm2", max_iterations=2,
                           init_checkpoint=str(tmp_path / "source" / "checkpoints" / "model_2.pt")).train()
    assert summary["iteration"] == 2  # counted from 0: a new run, not a resume
    assert [r["iteration"] for r in read_metrics(tmp_path / "warm2" / "metrics.jsonl")] == [1, 2]


@pytest.mark.parametrize("where, message", [
    ("nope.pt", r"trainer.params.init_checkpoint: checkpoint .*nope.pt does not exist"),
    ("empty_dir", r"trainer.params.init_checkpoint: run directory .*empty_dir holds no checkpoint"),
])
def test_init_checkpoint_that_is_not_there_is_a_named_error(tmp_path, where, message):
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(CheckpointError, match=message):
        make_trainer(tmp_path / "run", max_iterations=1, init_checkpoint=str(tmp_path / where)).train()


def test_init_checkpoint_of_another_algorithm_is_refused(tmp_path):
    make_trainer(tmp_path / "source", max_iterations=1).train()
    trainer = make_trainer(tmp_path / "run", max_iterations=1, init_checkpoint=str(tmp_path / "source"))
    trainer.algorithm_name = "ppo"
    with pytest.raises(CheckpointError, match=r"model_1.pt was written by algorithm 'fake-algorithm', this run "
                                              r"\(trainer.params.init_checkpoint\) uses 'ppo'"):
        trainer.train()
