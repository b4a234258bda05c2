"""The loggers registry (trackers as plugins) and the per-iteration callbacks that may stop a run."""
import pytest
from core.fakes import FakeAlgorithm, FakeAlgorithmParams, FakeEnv, FakeEnvParams, FakePlugin, fake_experiment

from fastembody_core import ConfigError, MetricLogger, OnPolicyTrainerParams, PluginError, RunContext, hookimpl
from fastembody_core import iteration_callbacks
from fastembody_core.checkpoint import list_checkpoints
from fastembody_core.config import experiment_from_dict
from fastembody_core.plugins import Registry
from fastembody_core.run_logging import read_metrics
from fastembody_core.seeding import seed_everything
from fastembody_core.trainer import OnPolicyTrainer


class Recorder(MetricLogger):
    def __init__(self, ctx, start_iteration):
        self.ctx, self.start_iteration, self.rows, self.closed = ctx, start_iteration, [], False
        Recorder.last = self

    def log(self, iteration, scalars):
        self.rows.append((iteration, dict(scalars)))

    def close(self):
        self.closed = True


class Broken(MetricLogger):
    def log(self, iteration, scalars):
        raise OSError("tracker server went away")


class TrackerPlugin:
    @hookimpl
    def register_loggers(self, register):
        register("recorder", lambda params, ctx, start: Recorder(ctx, start), description="records in memory")
        register("broken", lambda params, ctx, start: Broken(), description="fails on log")


def _trainer(tmp_path, config, max_iterations=4, **trainer):
    ctx = RunContext(seed=3, run_dir=tmp_path, config=config)
    seed_everything(3)
    env = FakeEnv(FakeEnvParams(), ctx)
    algorithm = FakeAlgorithm(env.spec(), FakeAlgorithmParams(), ctx)
    settings = dict(max_iterations=max_iterations, num_steps_per_env=8, save_interval=0, progress=False)
    settings.update(trainer)
    return OnPolicyTrainer(env, algorithm, OnPolicyTrainerParams(**settings), ctx)


def _tensorboard_scalars(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir))
    events.Reload()
    return {tag: {e.step: e.value for e in events.Scalars(tag)} for tag in events.Tags()["scalars"]}


def test_tensorboard_is_a_registered_logger_and_the_default(registry):
    assert registry.get("loggers", "tensorboard").plugin == "fastembody-core"
    registry.register_plugin(FakePlugin(), name="fake-plugin")
    experiment = experiment_from_dict(fake_experiment())
    assert experiment.run.loggers == ["tensorboard"] and experiment.to_dict()["run"]["tags"] == {}


def test_a_third_party_logger_gets_the_scalars_tensorboard_gets(tmp_path, registry, register_plugin):
    register_plugin(TrackerPlugin(), "trackers")
    config = {"algorithm": {"name": "fake-algorithm"}, "run": {"loggers": ["tensorboard", "recorder"],
                                                                "tags": {"sweep": "s"}}}
    _trainer(tmp_path, config).train()
    rows = Recorder.last.rows
    assert [i for i, _ in rows] == [1, 2, 3, 4] and Recorder.last.closed
    assert Recorder.last.ctx.config["run"]["tags"] == {"sweep": "s"}
    board = _tensorboard_scalars(tmp_path)
    assert set(rows[-1][1]) == set(board) and "Train/mean_reward" in board
    for iteration, scalars in rows:
        for key, value in scalars.items():
            assert board[key][iteration] == pytest.approx(value, rel=1e-6, abs=1e-6), key


def test_tensorboard_left_out_of_loggers_writes_no_events(tmp_path, registry, register_plugin):
    register_plugin(TrackerPlugin(), "trackers")
    _trainer(tmp_path, {"algorithm": {"name": "fake-algorithm"}, "run": {"loggers": ["recorder"]}}).train()
    assert not list(tmp_path.glob("events.out.tfevents.*")) and len(Recorder.last.rows) == 4


def test_a_failing_tracker_is_dropped_with_one_warning_and_training_goes_on(tmp_path, registry, register_plugin):
    register_plugin(TrackerPlugin(), "trackers")
    config = {"algorithm": {"name": "fake-algorithm"}, "run": {"loggers": ["broken"]}}
    with pytest.warns(RuntimeWarning, match="logger 'broken' failed while logging iteration 1.*went away"):
        summary = _trainer(tmp_path, config).train()
    assert summary["iteration"] == 4 and len(read_metrics(tmp_path / "metrics.jsonl")) == 4


def test_unknown_logger_and_stray_params_are_one_line(registry):
    registry.register_plugin(FakePlugin(), name="fake-plugin")
    with pytest.raises(PluginError, match=r"exp.yaml: run.loggers\[1\]: unknown logger 'tensorbord'.*did you mean "
                                          r"'tensorboard'"):
        experiment_from_dict(fake_experiment() | {"run": {"loggers": ["tensorboard", "tensorbord"]}}, "exp.yaml")
    with pytest.raises(ConfigError, match=r"exp.yaml: run.logger_params.wandb: logger 'wandb' is not in run.loggers"):
        experiment_from_dict(fake_experiment() | {"run": {"logger_params": {"wandb": {}}}}, "exp.yaml")


def test_a_missing_tracker_is_one_line_naming_what_is_installed(registry):
    bare = Registry(load_entry_points=False)
    with pytest.raises(PluginError, match=r"^unknown logger 'wandb' \(installed: tensorboard\)$"):
        bare.get("loggers", "wandb")


def test_a_callback_stops_the_run_with_a_checkpoint_and_a_reason(tmp_path, registry):
    seen = []

    def watch(iteration, metrics):
        seen.append(iteration)
        return "poor reward" if iteration == 3 else None

    with iteration_callbacks(watch, lambda i, m: None):
        summary = _trainer(tmp_path, {"algorithm": {"name": "fake-algorithm"}}, max_iterations=10).train()
    assert seen == [1, 2, 3] and summary["stopped"] == "poor reward" and summary["iteration"] == 3
    assert [i for i, _ in list_checkpoints(tmp_path)] == [3]  # a finished run: eval/export/play take it
    assert len(read_metrics(tmp_path / "metrics.jsonl")) == 3
    summary = _trainer(tmp_path / "after", {"algorithm": {"name": "fake-algorithm"}}, max_iterations=2).train()
    assert "stopped" not in summary  # the callbacks ended with their block
