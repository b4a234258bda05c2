"""Fault injection, run directories (issue 13): a run dir never loses data and never lies.

Two writers, a foreign experiment, bit flips in checkpoints (resume, eval, export, play, teacher), resume with
changed keys, disk full through a failing writer, memory estimates, devices, and the CLI options of eval / export
/ play. Each case asserts one named error (one line at the CLI), that nothing on disk changed, or that the
resumed run is still bit-identical. Bad config values are in test_faults.py.
"""
import errno
import json
import os
import re
import signal
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from core.fakes import FakePlugin, fake_experiment

from fastembody_core import CheckpointError, ConfigError, ResourceError, RunDirError, StorageError
from fastembody_core import checkpoint as checkpoint_module
from fastembody_core import resources
from fastembody_core.checkpoint import checkpoint_path, list_checkpoints, load_checkpoint
from fastembody_core.cli import cli
from fastembody_core.config import experiment_from_dict, load_experiment
from fastembody_core.pipeline import resolve_device, run_experiment
from fastembody_core.run_dir import IDENTITY_FILE, RESUME_LOG, RunDirLock

ROOT = Path(__file__).resolve().parents[2]
POINTMASS = ROOT / "examples" / "fastembody_example_pointmass" / "fastembody_example_pointmass" / "pointmass_ppo.yaml"
TINY = ["trainer.params.progress=false", "trainer.params.tensorboard=false", "env.params.num_envs=16",
        "trainer.params.num_steps_per_env=8", "trainer.params.save_interval=1", "algorithm.params.num_mini_batches=2"]


@pytest.fixture
def fake(register_plugin):
    register_plugin(FakePlugin(), "fake-plugin")


def run_fake(run_dir, resume=False, **changes):
    return run_experiment(experiment_from_dict(fake_experiment(**changes)), run_dir=run_dir, resume=resume)


def run_pointmass(run_dir, *overrides, resume=False):
    return run_experiment(load_experiment(POINTMASS, TINY + list(overrides)), run_dir=run_dir, resume=resume)


def snapshot(run_dir: Path):
    """Every file's bytes under the run dir, except the lock file (its holder note changes)."""
    return {p.relative_to(run_dir): p.read_bytes() for p in sorted(run_dir.rglob("*"))
            if p.is_file() and p.name != ".fastembody.lock"}


def one_line(*args, code=None):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("Warning: plugin ")]
    assert result.exit_code != 0 and (code is None or result.exit_code == code), (result.exit_code, result.output)
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr[-3000:]
    assert "Traceback" not in result.output
    return lines[0]


def flip_byte(path: Path, entry: str, at: int = 7) -> None:
    """Flip one bit inside zip member ``entry`` (e.g. ``data/0``: a tensor's bytes; ``data.pkl``: the pickle)."""
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = next(i for i in z.infolist() if i.filename.endswith("/" + entry))
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    raw[start + min(at, info.file_size - 1)] ^= 0x10
    path.write_bytes(bytes(raw))


# -- a run dir belongs to one experiment ----------------------------------------------------------------------
@pytest.mark.parametrize("change", [{"seed": 4}, {"algorithm": {"learning_rate": 0.5}}, {"env": {"num_envs": 2}}])
def test_another_experiment_is_refused_and_nothing_changes(tmp_path, fake, change):
    run_fake(tmp_path, max_iterations=2, save_interval=1)
    before = snapshot(tmp_path)
    with pytest.raises(RunDirError, match=r"holds a run of 'fake' with another config .* checkpoints up to iteration 2: "
                                          r"write this run elsewhere with --run-dir NEW_DIR .*--resume"):
        run_fake(tmp_path, max_iterations=3, save_interval=1, **change)
    assert snapshot(tmp_path) == before


def test_another_name_is_refused_at_the_cli(tmp_path, registry):
    run_pointmass(tmp_path / "a", "trainer.params.max_iterations=1")
    before = snapshot(tmp_path / "a")
    line = one_line("run", POINTMASS, "--run-dir", tmp_path / "a", "--set", "name=other",
                    *[x for s in TINY for x in ("--set", s)])
    assert "holds another experiment, 'pointmass_ppo'" in line and "not 'other'" in line
    assert snapshot(tmp_path / "a") == before


def test_same_experiment_without_resume_is_refused_but_may_restart_before_a_checkpoint(tmp_path, fake):
    run_fake(tmp_path, max_iterations=2, save_interval=1)
    before = snapshot(tmp_path)
    with pytest.raises(RunDirError, match="already holds this experiment, checkpoints up to iteration 2; continue it "
                                          "with --resume"):
        run_fake(tmp_path, max_iterations=2, save_interval=1)
    assert snapshot(tmp_path) == before
    for _, path in list_checkpoints(tmp_path):  # a run that never saved: starting it over loses nothing
        path.unlink()
    assert run_fake(tmp_path, max_iterations=2, save_interval=1)["iteration"] == 2


def test_a_dir_where_nothing_trained_may_take_another_config(tmp_path, fake, monkeypatch):
    monkeypatch.setattr(resources, "available_memory", lambda device="cpu": 100)
    with pytest.raises(ResourceError, match="the trainer's episode statistics"):  # refused before it trained
        run_fake(tmp_path, max_iterations=1)
    monkeypatch.undo()
    assert run_fake(tmp_path, max_iterations=1, seed=5)["iteration"] == 1


def test_older_run_dir_without_identity_is_protected_too(tmp_path, fake):
    run_fake(tmp_path, max_iterations=1)
    (tmp_path / IDENTITY_FILE).unlink()  # as written before experiment.json existed
    with pytest.raises(RunDirError, match="already holds this experiment"):
        run_fake(tmp_path, max_iterations=1)
    with pytest.raises(RunDirError, match="holds a run of 'fake' with another config"):
        run_fake(tmp_path, max_iterations=1, seed=9)


# -- one writer at a time -------------------------------------------------------------------------------------
def test_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path, fake):
    holder = RunDirLock(tmp_path).acquire()
    try:
        with pytest.raises(RunDirError, match=rf"run dir {tmp_path} is in use by another run \(pid {os.getpid()} on "):
            run_fake(tmp_path, max_iterations=1)
        assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "config.resolved.yaml").exists()
    finally:
        holder.release()
    assert run_fake(tmp_path, max_iterations=1)["iteration"] == 1  # released: the run goes ahead


def test_lock_is_released_when_its_holder_is_killed(tmp_path):
    code = ("import sys, time; from pathlib import Path; from fastembody_core.run_dir import RunDirLock; "
            "RunDirLock(Path(sys.argv[1])).acquire(); print('locked', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(RunDirError, match=f"in use by another run \\(pid {proc.pid} "):
            RunDirLock(tmp_path).acquire()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    RunDirLock(tmp_path).acquire().release()  # no stale lock after SIGKILL


def test_second_writer_at_the_cli_is_one_line(tmp_path, registry):
    holder = RunDirLock(tmp_path / "a").acquire()
    try:
        line = one_line("run", POINTMASS, "--run-dir", tmp_path / "a", *[x for s in TINY for x in ("--set", s)])
    finally:
        holder.release()
    assert "is in use by another run" in line and "--run-dir NEW_DIR" in line


def test_torchrun_ranks_all_stop_when_rank_0_refuses_the_run_dir(tmp_path):
    """Rank 0 alone claims the run dir; its refusal reaches rank 1 instead of leaving it waiting."""
    holder = RunDirLock(tmp_path / "a").acquire()
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "fastembody_core",
           "run", str(POINTMASS), "--run-dir", str(tmp_path / "a")] + [x for s in TINY for x in ("--set", s)]
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    finally:
        holder.release()
    assert out.returncode != 0
    assert "Error: rank 0 refused the run: run dir" in out.stderr and "is in use by another run" in out.stderr


# -- verified checkpoints -------------------------------------------------------------------------------------
@pytest.mark.parametrize("entry", ["data/0", "data/3", "data.pkl"])
def test_bit_flip_is_a_named_error_on_load(tmp_path, fake, entry):
    run_fake(tmp_path, max_iterations=1)
    path = checkpoint_path(tmp_path, 1)
    flip_byte(path, entry)
    with pytest.raises(CheckpointError, match=rf"checkpoint {path} is (corrupt|corrupt or truncated)"):
        load_checkpoint(path)


def test_bit_flip_is_caught_by_eval_export_play_and_the_teacher(tmp_path, fake):
    run_fake(tmp_path, max_iterations=2, save_interval=1)
    flip_byte(checkpoint_path(tmp_path, 2), "data/1", at=3)
    for args in (["eval", tmp_path, "--episodes", "2"], ["export", tmp_path], ["play", tmp_path, "--seconds", "0.2"]):
        line = one_line(*args)
        assert f"checkpoint {checkpoint_path(tmp_path, 2)} is corrupt" in line, line
    assert CliRunner().invoke(cli, ["eval", str(tmp_path), "--episodes", "2", "--checkpoint", "1"]).exit_code == 0
    pytest.importorskip("fastembody_distill")
    from fastembody_distill.teacher import read_teacher_state

    with pytest.raises(CheckpointError, match="is corrupt: its content no longer matches the sha256 digest"):
        read_teacher_state(checkpoint_path(tmp_path, 2))


def test_resume_skips_a_corrupt_newest_checkpoint_and_stays_bit_identical(tmp_path, fake, capsys):
    straight = run_fake(tmp_path / "straight", max_iterations=4, save_interval=1)
    run_fake(tmp_path / "split", max_iterations=3, save_interval=1)
    flip_byte(checkpoint_path(tmp_path / "split", 3), "data/0")
    resumed = run_fake(tmp_path / "split", resume=True, max_iterations=4, save_interval=1)
    assert resumed["iteration"] == 4
    err = capsys.readouterr().err
    assert f"--resume: skipped checkpoint {checkpoint_path(tmp_path / 'split', 3)} is corrupt" in err
    record = json.loads((tmp_path / "split" / RESUME_LOG).read_text().splitlines()[-1])
    assert record["iteration"] == 2 and "model_3.pt is corrupt" in record["skipped"][0]
    a = load_checkpoint(straight["checkpoint"])["algorithm_state"]
    b = load_checkpoint(resumed["checkpoint"])["algorithm_state"]
    for key in ("actor", "critic"):
        for name, value in a[key].items():
            assert torch.equal(value, b[key][name]), f"{key}.{name} differs after resuming over a corrupt checkpoint"


def test_resume_with_no_intact_checkpoint_names_each(tmp_path, fake):
    run_fake(tmp_path, max_iterations=2, save_interval=1)
    for i in (1, 2):
        flip_byte(checkpoint_path(tmp_path, i), "data/0")
    with pytest.raises(CheckpointError, match=r"no intact checkpoint in .*model_2.pt is corrupt.* \| .*model_1.pt is corrupt"):
        run_fake(tmp_path, resume=True, max_iterations=3)


def test_old_checkpoint_without_digest_still_loads_but_a_new_one_must_have_it(tmp_path, fake):
    run_fake(tmp_path, max_iterations=1)
    path = checkpoint_path(tmp_path, 1)
    data = torch.load(path, weights_only=True)
    del data["digest"]
    torch.save(data, path)
    with pytest.raises(CheckpointError, match="is corrupt: its content has no digest"):
        load_checkpoint(path)
    data["version"] = 1  # written before digests existed
    torch.save(data, path)
    assert load_checkpoint(path)["iteration"] == 1


# -- honest resume --------------------------------------------------------------------------------------------
def test_changed_learning_rate_reaches_the_optimiser_and_is_recorded(tmp_path, registry, capsys):
    run_pointmass(tmp_path, "trainer.params.max_iterations=2")
    summary = run_pointmass(tmp_path, "trainer.params.max_iterations=3", "algorithm.params.learning_rate=0.0123",
                            "algorithm.params.schedule=fixed", resume=True)
    assert summary["metrics"]["Loss/learning_rate"] == pytest.approx(0.0123)  # what the optimiser used
    record = json.loads((tmp_path / RESUME_LOG).read_text().splitlines()[-1])
    assert record["changes"]["algorithm.params.learning_rate"] == [0.003, 0.0123]
    assert record["changes"]["algorithm.params.schedule"] == ["adaptive", "fixed"]
    assert record["changes"]["trainer.params.max_iterations"] == [2, 3] and record["iteration"] == 2
    resolved = load_experiment(tmp_path)
    assert resolved.algorithm.params.learning_rate == 0.0123 and resolved.algorithm.params.schedule == "fixed"
    assert "algorithm.params.learning_rate 0.003 -> 0.0123" in capsys.readouterr().err


@pytest.mark.parametrize("setting, expected", [
    ("algorithm.params.actor_hidden_dims=[8]", "algorithm.params.actor_hidden_dims [32, 32] -> [8]: algorithm 'ppo' builds"),
    ("algorithm.params.init_noise_std=0.9", "algorithm.params.init_noise_std 0.5 -> 0.9"),
    ("env.params.num_envs=32", "env.params.num_envs 16 -> 32: the env state, rollout storage"),
    ("seed=7", "seed 0 -> 7: the random streams continue from the checkpoint"),
])
def test_keys_that_cannot_change_are_refused_and_nothing_is_written(tmp_path, registry, setting, expected):
    run_pointmass(tmp_path, "trainer.params.max_iterations=1")
    before = snapshot(tmp_path)
    line = one_line("run", POINTMASS, "--run-dir", tmp_path, "--resume",
                    *[x for s in TINY + ["trainer.params.max_iterations=2", setting] for x in ("--set", s)], code=2)
    assert "cannot change on --resume: " + expected in line and "start a new run with --run-dir NEW_DIR" in line
    assert snapshot(tmp_path) == before


def test_resume_of_another_experiment_is_refused(tmp_path, fake):
    run_fake(tmp_path, max_iterations=1)
    data = fake_experiment(max_iterations=2)
    data["name"] = "other"
    with pytest.raises(RunDirError, match="holds another experiment \\(name 'fake' -> 'other'\\)"):
        run_experiment(experiment_from_dict(data), run_dir=tmp_path, resume=True)


# -- disk full --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"),
                                     RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")])
def test_disk_full_while_saving_a_checkpoint(tmp_path, fake, monkeypatch, failure):
    real_save = torch.save
    calls = []

    def failing_save(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # iterations 1 and 2 are saved, the third write fails half way
            f.write(b"partial")
            raise failure
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(StorageError) as info:
        run_fake(tmp_path, max_iterations=4, save_interval=1)
    text = str(info.value)
    assert f"cannot write checkpoint (iteration 3) {checkpoint_path(tmp_path, 3)}: " in text and "free there" in text
    assert f"the last checkpoint, {checkpoint_path(tmp_path, 2)}, is intact: continue with --resume" in text
    assert [i for i, _ in list_checkpoints(tmp_path)] == [1, 2]
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if p.name.endswith(".tmp")]
    monkeypatch.setattr(torch, "save", real_save)
    assert run_fake(tmp_path, resume=True, max_iterations=4, save_interval=1)["iteration"] == 4  # space freed


def test_disk_full_while_logging_metrics(tmp_path, fake, monkeypatch):
    from fastembody_core import run_logging

    real_open = run_logging.RunLogger._open_metrics

    class FullFile:
        def __init__(self, f):
            self.f, self.writes = f, 0

        def write(self, text):
            self.writes += 1
            if self.writes > 2:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.f.write(text)

        def __getattr__(self, name):
            return getattr(self.f, name)

    monkeypatch.setattr(run_logging.RunLogger, "_open_metrics", staticmethod(lambda p, s: FullFile(real_open(p, s))))
    with pytest.raises(StorageError, match=r"cannot write the metrics of iteration 3 to .*metrics.jsonl: No space left "
                                           r"on device .*the last checkpoint, .*model_2.pt, is intact"):
        run_fake(tmp_path, max_iterations=4, save_interval=1)


def test_disk_full_at_the_cli_is_one_line(tmp_path, fake, monkeypatch):
    def full(obj, f, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    config = tmp_path / "c.json"
    config.write_text(json.dumps(fake_experiment(max_iterations=2)))
    monkeypatch.setattr(torch, "save", full)
    line = one_line("run", config, "--run-dir", tmp_path / "run", code=74)
    assert "No space left on device" in line and "the disk is full" in line and "no checkpoint was saved" in line


@pytest.mark.parametrize("command", ["export", "play"])
def test_output_under_a_file_is_one_line(tmp_path, fake, command):
    run_fake(tmp_path / "run", max_iterations=1)
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    args = ["--output", blocker / "p.onnx"] if command == "export" else ["--video", blocker / "v.mp4", "--seconds", "0.1"]
    line = one_line(command, tmp_path / "run", *args, code=74)
    assert f"cannot write {command if command == 'export' else 'video'} folder {blocker}:" in line, line


# -- memory -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("setting, expected", [
    ("algorithm.params.actor_hidden_dims=[100000, 100000]", "an MLP 4 -> [100000, 100000] -> 2 (10,000,800,002 "
                                                            "parameters, with gradients and Adam's moments) needs about 160.0 GB"),
    ("env.params.num_envs=400000", "ppo's rollout storage (8 steps x 400000 envs x 14 numbers) needs about 268.8 MB"),
])
def test_sizes_that_cannot_fit_are_refused_before_allocating(tmp_path, registry, monkeypatch, setting, expected):
    monkeypatch.setattr(resources, "available_memory", lambda device="cpu": 200_000_000)
    line = one_line("run", POINTMASS, "--run-dir", tmp_path / "r", *[x for s in TINY + [setting] for x in ("--set", s)])
    assert expected in line and "200.0 MB is available" in line, line


def test_allocator_failure_is_one_line_with_the_figure(tmp_path, fake, monkeypatch):
    from core import fakes

    def too_big(self, params, ctx):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 80000000000 bytes. Error code 12 (Cannot allocate memory)")

    monkeypatch.setattr(fakes.FakeEnv, "__init__", too_big)
    with pytest.raises(ResourceError, match=r"out of memory while building env 'fake-env' with num_envs=4 \(it asked "
                                            r"for 80.0 GB\); .* is available; lower env.params.num_envs"):
        run_fake(tmp_path, max_iterations=1)


# -- devices, episode length, eval / export / play options -----------------------------------------------------
def test_devices_this_machine_lacks_list_what_it_has():
    with pytest.raises(ConfigError, match=r"device 'cuda:99' is not available on this machine.*devices here: cpu"):
        resolve_device("cuda:99")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match=r"device 'cuda' is not available .*devices here: cpu"):
            resolve_device("cuda")


def test_one_step_episodes_are_refused(tmp_path, registry):
    line = one_line("run", POINTMASS, "--run-dir", tmp_path / "r", "--set", "env.params.episode_length=1",
                    *[x for s in TINY for x in ("--set", s)])
    assert "env 'example-pointmass' ends every episode after 1 step" in line and "(env.params.episode_length)" in line


def test_checkpoint_by_iteration_in_eval_export_play(tmp_path, fake):
    run_fake(tmp_path, max_iterations=2, save_interval=1)
    runner = CliRunner()
    out = runner.invoke(cli, ["eval", str(tmp_path), "--episodes", "2", "--checkpoint", "1", "--json"])
    assert out.exit_code == 0 and json.loads(out.stdout)["iteration"] == 1, out.output
    out = runner.invoke(cli, ["export", str(tmp_path), "--format", "torchscript", "--checkpoint", "1"])
    assert out.exit_code == 0 and json.loads((tmp_path / "exported" / "policy.pt.json").read_text())["iteration"] == 1
    out = runner.invoke(cli, ["play", str(tmp_path), "--seconds", "0.2", "--checkpoint", "2"])
    assert out.exit_code == 0 and "model_2.pt" in out.stdout, out.output
    assert "no checkpoint for iteration 7" in one_line("eval", tmp_path, "--checkpoint", "7")


@pytest.mark.parametrize("seconds", ["inf", "nan", "1e12"])
def test_play_seconds_must_be_finite(tmp_path, fake, seconds):
    run_fake(tmp_path, max_iterations=1)
    assert "--seconds: must be a finite number of seconds" in one_line("play", tmp_path, "--seconds", seconds)


@pytest.mark.parametrize("model, sidecar, expected", [
    (b"", None, "is not a loadable ONNX model"),
    (os.urandom(256), None, "is not a loadable ONNX model"),
    (None, b"{not json", "sidecar .*policy.onnx.json is unreadable"),
    (None, b'{"obs_groups": "policy"}', "sidecar .*policy.onnx.json does not describe an export"),
    (None, b"\xff\xfe", "sidecar .*policy.onnx.json is unreadable"),
])
def test_play_onnx_with_a_corrupt_file_or_sidecar(tmp_path, fake, model, sidecar, expected):
    pytest.importorskip("onnxruntime")
    run_fake(tmp_path, max_iterations=1)
    assert CliRunner().invoke(cli, ["export", str(tmp_path)]).exit_code == 0
    onnx = tmp_path / "exported" / "policy.onnx"
    if model is not None:
        onnx.write_bytes(model)
    if sidecar is not None:
        onnx.with_name("policy.onnx.json").write_bytes(sidecar)
    line = one_line("play", tmp_path, "--onnx", onnx, "--seconds", "0.2")
    assert re.search(expected, line), line


def test_a_missing_init_checkpoint_is_refused_before_anything_is_written(tmp_path, fake):
    config = fake_experiment(trainer={"init_checkpoint": str(tmp_path / "teacher_run")})
    with pytest.raises(CheckpointError, match=r"trainer.params.init_checkpoint: checkpoint .*teacher_run does not"):
        run_experiment(experiment_from_dict(config), run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    first = run_experiment(experiment_from_dict(fake_experiment(max_iterations=2)), run_dir=tmp_path / "first")
    config["trainer"]["params"]["init_checkpoint"] = first["run_dir"]
    assert run_experiment(experiment_from_dict(config), run_dir=tmp_path / "run")["iteration"] == 4
