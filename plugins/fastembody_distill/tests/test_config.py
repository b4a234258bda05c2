"""DistillationParams: defaults, range checks with the offending key, the beta schedule, loader errors,
and configs/go2_distillation.yaml with its JSON twin."""
from pathlib import Path

import pytest

from fastembody_core import ConfigError
from fastembody_core.config import experiment_from_dict, load_experiment
from fastembody_distill.config import DistillationParams


def test_defaults_are_valid_and_rsl_rl_like():
    p = DistillationParams()
    assert p.collection == "student" and p.loss_type == "mse" and p.learning_rate == 1e-3
    assert p.gradient_length == 15 and p.student_obs_groups == ["deployable"] and not p.is_recurrent


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"collection": "dagger"}, "collection"),
        ({"loss_type": "l1"}, "loss_type"),
        ({"rnn_type": "transformer"}, "rnn_type"),
        ({"history_length": 0}, "history_length"),
        ({"rnn_type": "gru", "history_length": 3}, "history_length"),
        ({"beta_start": 1.5}, "beta_start"),
        ({"learning_rate": -1e-3}, "learning_rate"),
        ({"max_grad_norm": 0.0}, "max_grad_norm"),
        ({"action_noise_std": -0.1}, "action_noise_std"),
        ({"hidden_dims": []}, "hidden_dims"),
        ({"student_obs_groups": []}, "student_obs_groups"),
        ({"teacher_obs_groups": []}, "teacher_obs_groups"),
        ({"gradient_length": 0}, "gradient_length"),
        ({"precision": "fp16"}, "precision"),
        ({"learning_rate_end": -1e-4}, "learning_rate_end"),
        ({"learning_rate_end": 1e-4, "learning_rate_decay_iterations": 0}, "learning_rate_decay_iterations"),
    ],
)
def test_bad_values_name_their_key(kwargs, key):
    with pytest.raises(ConfigError) as err:
        DistillationParams(**kwargs)
    assert err.value.key == key


def test_teacher_probability_per_collection_mode():
    assert DistillationParams(collection="teacher").teacher_probability(50) == 1.0
    assert DistillationParams(collection="student").teacher_probability(0) == 0.0
    p = DistillationParams(collection="schedule", beta_start=1.0, beta_end=0.2, beta_decay_iterations=10)
    assert [round(p.teacher_probability(i), 3) for i in (0, 5, 10, 30)] == [1.0, 0.6, 0.2, 0.2]


def test_learning_rate_decays_linearly_then_holds():
    assert DistillationParams(learning_rate=2e-3).learning_rate_at(10_000) == 2e-3  # constant by default
    p = DistillationParams(learning_rate=1e-3, learning_rate_end=1e-4, learning_rate_decay_iterations=10)
    assert [round(p.learning_rate_at(i), 6) for i in (0, 5, 10, 30)] == [1e-3, 5.5e-4, 1e-4, 1e-4]


def _experiment(params):
    return {
        "name": "d",
        "env": {"name": "example-pointmass"},
        "algorithm": {"name": "distillation", "params": params},
    }


def test_loader_reports_file_and_dotted_key():
    with pytest.raises(ConfigError, match=r"cfg.yaml: algorithm.params.collection: unknown value 'dagger'"):
        experiment_from_dict(_experiment({"collection": "dagger"}), source="cfg.yaml")
    with pytest.raises(ConfigError, match=r"algorithm.params.histroy_length: unknown key; did you mean "
                                          r"'algorithm.params.history_length'"):
        experiment_from_dict(_experiment({"histroy_length": 3}), source="cfg.yaml")
    exp = experiment_from_dict(_experiment({"teacher_checkpoint": "runs/teacher", "max_grad_norm": None}))
    assert exp.algorithm.params.max_grad_norm is None and exp.algorithm.params.teacher_checkpoint == "runs/teacher"


def test_go2_config_and_its_json_twin_validate_identically():
    configs = Path(__file__).resolve().parents[3] / "configs"
    from_yaml = load_experiment(configs / "go2_distillation.yaml")
    from_json = load_experiment(configs / "go2_distillation.json")
    assert from_yaml.to_dict() == from_json.to_dict()
    assert from_yaml.env.name == "go2-toy" and from_yaml.algorithm.name == "distillation"
    assert from_yaml.algorithm.params.student_obs_groups == ["deployable"]
    override = "algorithm.params.teacher_checkpoint=runs/teacher/checkpoints/model_300.pt"
    assert load_experiment(configs / "go2_distillation.yaml", [override]).algorithm.params.teacher_checkpoint.endswith(
        "model_300.pt"
    )
