"""What a run leaves to look at (``run.preview``): curves, a video where the env renders, the next commands."""
import pytest
from core.fakes import FakePlugin, train_fake_run

from fastembody_core import ConfigError
from fastembody_core.config import RunSettings
from fastembody_core.preview import next_commands, summary_lines, write_preview


@pytest.fixture
def run_dir(tmp_path, register_plugin):
    register_plugin(FakePlugin(), "fake-plugin")
    train_fake_run(tmp_path / "run", max_iterations=2, save_interval=1)
    return tmp_path / "run"


def test_preview_without_a_renderer_writes_the_curves_and_says_why_there_is_no_video(run_dir):
    preview = write_preview(run_dir, seconds=0.2)
    assert (run_dir / "learning_curves.png").is_file() and preview["curves"].endswith("learning_curves.png")
    assert "has no render() method" in preview["video_error"] and not (run_dir / "preview.mp4").exists()
    assert (run_dir / "preview.mp4.json").is_file()  # the playback metrics are kept all the same
    lines = summary_lines(run_dir, preview)
    assert lines[0] == f"Run finished: {run_dir}" and any(line.startswith("  learning curves: ") for line in lines)
    assert any("no video: " in line for line in lines)
    assert lines[-len(next_commands(run_dir)):] == [f"  {c}" for c in next_commands(run_dir)]


def test_without_preview_the_summary_is_the_run_dir_and_the_next_commands(tmp_path):
    lines = summary_lines(tmp_path, None)
    assert lines[0] == f"Run finished: {tmp_path}" and lines[1] == "Next:"
    assert [line.split()[1] for line in lines[2:]] == ["eval", "play", "export"]


@pytest.mark.parametrize("bad, key", [({"preview_seconds": 0.0}, "preview_seconds"),
                                      ({"preview_seconds": float("nan")}, "preview_seconds"),
                                      ({"preview_command": [0.5, 0.0]}, "preview_command"),
                                      ({"preview_command": [0.5, float("inf"), 0.0]}, "preview_command")])
def test_bad_preview_settings_are_one_named_error(bad, key):
    with pytest.raises(ConfigError, match=key):
        RunSettings(**bad)
