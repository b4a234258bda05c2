"""``fastembody play``: command parsing, playback metrics, missing hooks, video without a renderer."""
import json

import pytest
from core.fakes import FakePlugin, train_fake_run

from fastembody_core import ConfigError, EnvError
from fastembody_core.play import contact_sheet, parse_command, play_run, write_png


@pytest.fixture
def run_dir(tmp_path, register_plugin):
    register_plugin(FakePlugin(), "fake-plugin")
    train_fake_run(tmp_path / "run", max_iterations=2, save_interval=1)
    return tmp_path / "run"


def test_parse_command():
    assert parse_command("0.5,0,0") == (0.5, 0.0, 0.0)
    assert parse_command(" -0.3, 0.1 ,1e-1") == (-0.3, 0.1, 0.1)
    for bad in ("0.5,0", "a,b,c", "1,2,3,4", "nan,0,0", ""):
        with pytest.raises(ConfigError, match="--command: expected VX,VY,YAW"):
            parse_command(bad)


def test_play_returns_metrics(run_dir):
    result = play_run(run_dir, seconds=0.5)
    assert result["env"] == "fake-env" and result["policy"].endswith("model_2.pt")
    assert result["steps"] == 25 and result["seconds"] == pytest.approx(0.5)
    assert result["episodes_ended"] >= 2  # the fake env's episodes last 12 steps
    assert "mean_speed" not in result  # the fake env has no base_lin_vel
    with pytest.raises(EnvError, match=r"^env 'fake-env' does not implement CommandableEnv \(fastembody_core.contracts\), "
                                       r"so --command cannot fix its command$"):
        play_run(run_dir, command=(0.5, 0.0, 0.0), seconds=0.1)


def test_video_without_a_renderer_still_writes_metrics(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "egl")
    with pytest.warns(RuntimeWarning, match="has no render"):
        result = play_run(run_dir, seconds=0.2, video=tmp_path / "v.mp4", checkpoint=1)
    assert result["policy"].endswith("model_1.pt") and "has no render() method" in result["video_error"]
    assert json.loads((tmp_path / "v.mp4.json").read_text())["steps"] == 10
    assert not (tmp_path / "v.mp4").exists()


def test_contact_sheet_png(tmp_path):
    import numpy as np

    frames = [np.full((40, 60, 3), i * 20, dtype=np.uint8) for i in range(10)]
    sheet = contact_sheet(frames)
    assert sheet.shape == (2 * 20, 4 * 30, 3) and sheet[0, 0, 0] == 0 and sheet[-1, -1, 0] == 180
    path = write_png(tmp_path / "s.png", sheet)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and b"IEND" in data[-12:]
