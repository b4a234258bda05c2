"""Learning-curve PNG from metrics.jsonl."""
import builtins
import json

import pytest

from fastembody_core import FastEmbodyError
from fastembody_core.plotting import plot_run


def write_metrics(run_dir, n=5):
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "metrics.jsonl", "w") as f:
        for it in range(1, n + 1):
            f.write(json.dumps({"iteration": it, "env_steps": 96 * it, "Train/mean_reward": it * 0.5,
                                "Train/mean_episode_length": 10 + it, "Loss/surrogate": -0.01 * it,
                                "Loss/value_function": 1.0 / it, "Perf/total_fps": 1000.0,
                                "Episode/distance": 0.1 * it}) + "\n")
        f.write('{"iteration": 6, "Train/me')  # torn last line from a crash


def test_writes_a_png(tmp_path):
    write_metrics(tmp_path / "run")
    path = plot_run(tmp_path / "run")
    assert path == tmp_path / "run" / "learning_curves.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_output_path(tmp_path):
    write_metrics(tmp_path / "run")
    assert plot_run(tmp_path / "run", output=tmp_path / "plots" / "c.png").is_file()


def test_missing_or_empty_metrics(tmp_path):
    with pytest.raises(FastEmbodyError, match="metrics.jsonl not found"):
        plot_run(tmp_path)
    (tmp_path / "metrics.jsonl").write_text("")
    with pytest.raises(FastEmbodyError, match="holds no iteration yet"):
        plot_run(tmp_path)


def test_missing_matplotlib_is_a_clear_error(tmp_path, monkeypatch):
    write_metrics(tmp_path)
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(FastEmbodyError, match="plotting needs matplotlib .*pip install matplotlib"):
        plot_run(tmp_path)
