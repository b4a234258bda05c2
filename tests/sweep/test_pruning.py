"""What the pruner sees: the trailing mean of the watched metric (pruning.window), never a trial's last iteration;
what a trial's value is: reduce over the trailing mean of ``window`` iterations. Scripted runs (no training): a fake
``run_experiment`` logs a curve chosen by the learning rate and calls the iteration callbacks as the trainer does."""
import csv
import json

import pytest

from fastembody_core.callbacks import end_of_iteration
from fastembody_core.sweep import load_sweep, run_sweep
from fastembody_core.sweep.trial import run_value, trailing_means

pytest.importorskip("optuna")
LR = "algorithm.params.learning_rate"
CURVES = {
    1e-3: [1.0] * 8,                                  # the leader, flat
    2e-3: [1.3, 1.3, 1.3, 0.5, 1.3, 1.3, 1.3, 1.3],   # better, with one bad iteration at the first rung (4)
    3e-3: [0.5] * 8,                                  # poor throughout
    4e-3: [1.4] * 7 + [0.9],                          # the best until its last iteration
}


@pytest.fixture
def scripted(monkeypatch):
    """Replace training with the curve of CURVES for the trial's learning rate (8 iterations; flat 1.0 for others)."""

    def fake_run(experiment, run_dir=None, resume=False, debug=False):
        curve, stopped = CURVES.get(experiment.algorithm.params.learning_rate, [1.0] * 8), None
        with open(run_dir / "metrics.jsonl", "w", encoding="utf-8") as f:
            for iteration, value in enumerate(curve, start=1):
                f.write(json.dumps({"iteration": iteration, "Train/mean_reward": value}) + "\n")
                f.flush()
                stopped = end_of_iteration(iteration, {"Train/mean_reward": value})
                if stopped:
                    break
        return {"stopped": stopped, "run_dir": str(run_dir)}

    monkeypatch.setattr("fastembody_core.pipeline.run_experiment", fake_run)


def _states(sweep_dir):
    with open(sweep_dir / "results.csv", newline="") as f:
        return {float(r[LR]): (r["state"], r["Train/mean_reward"]) for r in csv.DictReader(f)}


@pytest.mark.parametrize("window, dip_state", [(1, "pruned"), (3, "complete")])
def test_successive_halving_compares_the_trailing_mean(write_sweep, tmp_path, scripted, window, dip_state):
    """Rungs at iterations 4 and 8 (the last). With one iteration's value (window 1) the trial whose fourth
    iteration dipped is stopped at rung 4, although it is better than the leader; with the mean of 3 it is kept. The
    poor trial is stopped either way; the one that falls behind at its last iteration is not stopped there (stopping
    a run at its end saves nothing), so it completes."""
    path = write_sweep(trials=4, set=["trainer.params.max_iterations=8"], initial=[{LR: lr} for lr in CURVES],
                       pruning={"type": "successive-halving", "warmup_iterations": 4, "reduction_factor": 2,
                                "window": window})
    run_sweep(path)
    states = _states(tmp_path / "sweeps" / "sw")
    assert states[1e-3][0] == "complete" and states[3e-3][0] == "pruned" and states[4e-3][0] == "complete"
    assert states[2e-3][0] == dip_state, states
    notes = {json.load(open(p))["params"][LR]: json.load(open(p))["note"]
             for p in (tmp_path / "sweeps" / "sw" / "trials").glob("*/trial.json")}
    assert notes[3e-3].startswith("pruned at step 4: Train/mean_reward 0.5")


def test_window_makes_a_trials_value_the_mean_of_its_last_iterations(write_sweep, tmp_path, scripted):
    path = write_sweep(trials=1, set=["trainer.params.max_iterations=8"], initial=[{LR: 4e-3}], window=4)
    run_sweep(path)
    assert float(_states(tmp_path / "sweeps" / "sw")[4e-3][1]) == pytest.approx(1.275)  # (3 x 1.4 + 0.9) / 4
    sweep = load_sweep(path)
    run_dir = next((tmp_path / "sweeps" / "sw" / "trials").glob("*/seed0"))
    sweep.file.reduce = "best"
    assert run_value(sweep, run_dir, 0) == pytest.approx(1.4)


def test_trailing_means():
    assert trailing_means([1.0, 2.0, 3.0, 4.0], 2) == [1.0, 1.5, 2.5, 3.5]
    assert trailing_means([1.0, 2.0], 5) == [1.0, 1.5] and trailing_means([3.0], 1) == [3.0]


def test_a_changed_window_is_another_sweep_but_a_study_from_before_window_continues(write_sweep, tmp_path,
                                                                                    scripted):
    from fastembody_core.sweep import SweepError
    from fastembody_core.sweep.optuna_engine import SPEC_ATTR, close_studies, open_study

    path = write_sweep(trials=1, set=["trainer.params.max_iterations=8"], initial=[{LR: 1e-3}])
    run_sweep(path)
    study = open_study(load_sweep(path))  # as a study written before `window` existed: no window stored
    study.set_user_attr(SPEC_ATTR, {k: v for k, v in study.user_attrs[SPEC_ATTR].items() if k != "window"})
    close_studies()
    path.write_text(path.read_text().replace("trials: 1", "trials: 2"))
    run_sweep(path)  # window 1, the default it had then: the same sweep, one more trial
    assert len(_states(tmp_path / "sweeps" / "sw")) == 2
    path.write_text(path.read_text() + "window: 3\n")
    with pytest.raises(SweepError, match="holds a sweep with another window"):
        run_sweep(path)


def test_the_process_count_of_torchrun_trials_is_part_of_a_sweeps_identity(write_sweep):
    from fastembody_core.sweep.optuna_engine import changed_identity, identity

    sweep = load_sweep(write_sweep(trials=1))
    before = {k: v for k, v in identity(sweep).items() if k != "nproc"}  # a study stored before nproc counted
    assert changed_identity(identity(sweep), before) == []  # nproc 1 then, as now
    sweep.file.nproc = 2
    assert changed_identity(identity(sweep), before) == ["nproc"]
