"""The wandb (offline) and mlflow (file store) loggers record the scalars TensorBoard records, under its names."""
import json
import struct
from pathlib import Path

import pytest

from fastembody_core import ConfigError, PluginError, get_registry
from fastembody_core.config import load_experiment
from fastembody_core.pipeline import run_experiment

POINTMASS = (Path(__file__).resolve().parents[3] / "examples" / "fastembody_example_pointmass"
             / "fastembody_example_pointmass" / "pointmass_ppo.yaml")
TINY = ["env.params.num_envs=32", "trainer.params.num_steps_per_env=8", "trainer.params.max_iterations=3",
        "trainer.params.progress=false", "trainer.params.save_interval=0"]


def tensorboard_scalars(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir))
    events.Reload()
    return {tag: {e.step: e.value for e in events.Scalars(tag)} for tag in events.Tags()["scalars"]}


def wandb_history(run_dir):
    """The history records of the offline run's .wandb file (LevelDB-style log: 32 KiB blocks of CRC'd chunks)."""
    from wandb.proto import wandb_internal_pb2

    (path,) = Path(run_dir, "wandb").glob("offline-run-*/*.wandb")
    data, pos, chunk, records = path.read_bytes(), 7, b"", []
    while pos + 7 <= len(data):
        left = 32768 - pos % 32768
        if left < 7:
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if length == 0 and kind == 0:  # padding to the end of the block
            pos += left
            continue
        chunk, pos = chunk + data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind in (1, 4):  # a full record, or the last chunk of one
            records.append(chunk)
            chunk = b""
    history, run = {}, None
    for raw in records:
        record = wandb_internal_pb2.Record()
        record.ParseFromString(raw)
        if record.WhichOneof("record_type") == "history":
            items = {i.key or "/".join(i.nested_key): float(i.value_json) for i in record.history.item}
            step = int(items.pop("_step"))
            for key, value in items.items():
                if not key.startswith("_"):
                    history.setdefault(key, {})[step] = value
        elif record.WhichOneof("record_type") == "run":
            run = record.run
    return history, run


def mlflow_metrics(root):
    from mlflow.tracking import MlflowClient

    client = MlflowClient((Path(root) / "mlruns").as_uri())
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    keys = run.data.metrics
    return {k: {m.step: m.value for m in client.get_metric_history(run.info.run_id, k)} for k in keys}, run


def test_wandb_offline_and_mlflow_file_store_record_what_tensorboard_records(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    pytest.importorskip("mlflow")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run_dir = tmp_path / "run"
    experiment = load_experiment(POINTMASS, TINY + [f"run.root={tmp_path}", "run.loggers=[tensorboard, wandb, mlflow]",
                                                    "run.tags={sweep: lr, trial: '3', seed: '0'}"])
    run_experiment(experiment, run_dir=run_dir)
    board = tensorboard_scalars(run_dir)
    assert "Train/mean_reward" in board and all(set(v) == {1, 2, 3} for v in board.values())
    wandb, wandb_run = wandb_history(run_dir)
    mlflow, mlflow_run = mlflow_metrics(tmp_path)
    assert set(wandb) == set(board) == set(mlflow)
    for key, steps in board.items():
        for step, value in steps.items():  # TensorBoard stores float32
            assert wandb[key][step] == pytest.approx(value, rel=1e-6, abs=1e-6), key
            assert mlflow[key][step] == pytest.approx(value, rel=1e-6, abs=1e-6), key
    assert sorted(wandb_run.tags) == ["seed:0", "sweep:lr", "trial:3"] and wandb_run.run_group == "lr"
    assert wandb_run.display_name == "lr-t3-s0" and wandb_run.project == "fastembody"
    assert mlflow_run.data.tags["sweep"] == "lr" and mlflow_run.data.tags["trial"] == "3"
    assert mlflow_run.data.params["algorithm.params.learning_rate"] == "0.003"
    assert mlflow_run.info.status == "FINISHED"


def test_resume_continues_the_same_tracker_runs(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    pytest.importorskip("mlflow")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run_dir = tmp_path / "run"
    common = TINY + [f"run.root={tmp_path}", "run.loggers=[wandb, mlflow]", "trainer.params.save_interval=3"]
    run_experiment(load_experiment(POINTMASS, common), run_dir=run_dir)
    ids = json.loads((run_dir / "tracker_runs.json").read_text())
    run_experiment(load_experiment(POINTMASS, common + ["trainer.params.max_iterations=5"]), run_dir=run_dir,
                   resume=True)
    assert json.loads((run_dir / "tracker_runs.json").read_text()) == ids  # the same runs, not new ones
    mlflow, mlflow_run = mlflow_metrics(tmp_path)  # exactly one MLflow run, now holding iterations 1..5
    assert mlflow_run.info.run_id == ids["mlflow"] and set(mlflow["Train/mean_reward"]) == {1, 2, 3, 4, 5}
    assert mlflow_run.data.tags["fastembody.resumed_at_iteration"] == "3" and mlflow_run.info.status == "FINISHED"
    runs = sorted(Path(run_dir, "wandb").glob("offline-run-*"))
    assert len(runs) == 2 and all(ids["wandb"] in r.name for r in runs)  # both sessions write run <id>


def test_the_trackers_are_registered_through_the_entry_point():
    registry = get_registry()
    assert registry.get("loggers", "wandb").plugin == "fastembody-trackers"
    assert registry.get("loggers", "mlflow").plugin == "fastembody-trackers"


def test_tracker_params_are_checked_with_the_config():
    with pytest.raises(ConfigError, match=r"run.logger_params.wandb.mode: expected one of \['offline', 'online', "
                                          r"'disabled'\], got 'ofline'"):
        load_experiment(POINTMASS, ["run.loggers=[wandb]", "run.logger_params={wandb: {mode: ofline}}"])
    with pytest.raises(ConfigError, match=r"run.logger_params.mlflow.tracking_ur: unknown key; did you mean "
                                          r"'run.logger_params.mlflow.tracking_uri'\?"):
        load_experiment(POINTMASS, ["run.loggers=[mlflow]", "run.logger_params={mlflow: {tracking_ur: x}}"])


def test_a_missing_tracker_package_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "wandb", None)
    experiment = load_experiment(POINTMASS, TINY + ["run.loggers=[wandb]"])
    with pytest.raises(PluginError, match=r"logger 'wandb' needs the wandb package .*pip install "
                                          r"'fastembody-trackers\[wandb\]'"):
        run_experiment(experiment, run_dir=tmp_path / "run")
