"""``fastembody eval --courses``: the course contract (contracts.COURSE_PARAM), per-course success, named errors."""
import json
from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from core.fakes import FakeAlgorithmParams, FakeEnvParams, FakePlugin, train_fake_run

from fastembody_core import ConfigError, EnvError, hookimpl
from fastembody_core.cli import cli
from fastembody_core.contracts import evaluation_courses
from fastembody_core.evaluation import evaluate_courses


@pytest.fixture
def run_dir(tmp_path, register_plugin):
    register_plugin(FakePlugin(), "fake-plugin")
    train_fake_run(tmp_path / "run", max_iterations=2, save_interval=2, env={"num_envs": 8})
    return tmp_path / "run"


def test_courses_come_from_the_params_literal():
    assert evaluation_courses(FakeEnvParams) == ("easy", "impossible", "silent")
    assert evaluation_courses(FakeAlgorithmParams) == ()
    assert evaluation_courses(None) == ()

    @dataclass
    class Untyped:
        course: str = ""

    assert evaluation_courses(Untyped) == ()


def test_each_course_runs_its_own_env_one_episode_per_env(run_dir):
    result = evaluate_courses(run_dir, ["easy", "impossible"], episodes=5)
    assert list(result["courses"]) == ["easy", "impossible"]
    easy, impossible = result["courses"]["easy"], result["courses"]["impossible"]
    assert easy["episodes"] == impossible["episodes"] == 5
    assert easy["success"] == 1.0 and impossible["success"] == 0.0
    assert 0.0 <= easy["fall_rate"] <= 1.0 and easy["mean_progress_m"] >= 0.0
    assert result["iteration"] == 2


def test_a_course_without_its_outcome_is_named(run_dir):
    with pytest.raises(EnvError, match="course_success"):
        evaluate_courses(run_dir, ["silent"], episodes=2)


def test_unknown_course_and_env_without_courses(run_dir, register_plugin):
    with pytest.raises(ConfigError, match=r"unknown course\(s\) \['hard'\].*courses: easy, impossible, silent"):
        evaluate_courses(run_dir, ["hard"])

    class NoCourses:
        @hookimpl
        def register_envs(self, register):
            register("plain-env", lambda params, ctx: None, params=FakeAlgorithmParams)

    register_plugin(NoCourses(), "no-courses")
    with pytest.raises(ConfigError, match="env 'plain-env' has no evaluation courses"):
        evaluate_courses(run_dir, env_name="plain-env")


def test_cli_table_json_and_usage(run_dir):
    runner = CliRunner()
    out = runner.invoke(cli, ["eval", str(run_dir), "--courses", "easy,impossible", "--episodes", "3"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert "success" in lines[1]
    assert lines[2].split()[:2] == ["easy", "100%"] and lines[3].split()[:2] == ["impossible", "0%"]
    out = runner.invoke(cli, ["eval", str(run_dir), "--courses", "easy", "--episodes", "2", "--json"])
    assert json.loads(out.output)["courses"]["easy"]["success"] == 1.0
    out = runner.invoke(cli, ["eval", str(run_dir), "--courses", "nope"])
    assert out.exit_code == 2 and out.stderr.count("\n") == 1 and "--courses: unknown course(s) ['nope']" in out.stderr
    out = runner.invoke(cli, ["eval", str(run_dir), "--env", "fake-env"])
    assert out.exit_code == 2 and "--env needs --courses" in out.output
