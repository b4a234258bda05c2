"""Deployment bundles (fastembody export --format bundle): written only when they pass their own check; a changed,
incomplete or newer bundle is one line naming what is wrong."""
import json

import numpy as np
import pytest
from click.testing import CliRunner
from core.fakes import FakePlugin, train_fake_run

from fastembody_core import EnvError, FastEmbodyError
from fastembody_core.bundle import MANIFEST_NAME, POLICY_NAME, SCHEMA_VERSION, SELFCHECK_NAME, verify_bundle
from fastembody_core.cli import cli
from fastembody_core.export import export_run


@pytest.fixture
def runs(tmp_path, register_plugin):
    register_plugin(FakePlugin(), "fake-plugin")
    train_fake_run(tmp_path / "robot", max_iterations=2, env={"num_envs": 8})
    robot = tmp_path / "robot"
    config = robot / "config.resolved.yaml"
    config.write_text(config.read_text().replace("name: fake-env", "name: fake-robot"))
    train_fake_run(tmp_path / "plain", max_iterations=2, env={"num_envs": 8})
    return robot, tmp_path / "plain"


def test_bundle_is_written_verified_and_describes_the_policy(runs):
    robot, _ = runs
    bundle = export_run(robot, fmt="bundle")
    assert bundle == robot / "exported" / "bundle"
    assert {p.name for p in bundle.iterdir()} == {MANIFEST_NAME, POLICY_NAME, SELFCHECK_NAME}
    manifest = json.loads((bundle / MANIFEST_NAME).read_text())
    assert manifest["schema_version"] == SCHEMA_VERSION and manifest["run"]["iteration"] == 2
    assert manifest["observation"] == {"groups": ["policy"], "terms": ["position"], "dim": 3, "history_length": 1}
    assert manifest["policy"]["inputs"] == ["obs"] and manifest["policy"]["sha256"].startswith("sha256:")
    assert manifest["robot"]["joint_names"] == ["j0", "j1"]
    result = verify_bundle(bundle)
    assert result["max_abs_diff"] <= 1e-4 and result["steps"] == 100 and result["envs"] == 4
    out = CliRunner().invoke(cli, ["check-bundle", str(bundle)])
    assert out.exit_code == 0 and ": ok (100 recorded steps x 4 envs" in out.output


def test_an_env_without_a_deployment_description_is_one_line_and_writes_nothing(runs):
    _, plain = runs
    with pytest.raises(EnvError, match=r"^env 'fake-env' does not implement DeployableEnv \(fastembody_core.contracts\)"
                                       r", so export --format bundle has no robot description to write$"):
        export_run(plain, fmt="bundle")
    assert not (plain / "exported").exists() or not any((plain / "exported").iterdir())


def _tamper(bundle, what):
    if what == "weights":
        data = bytearray((bundle / POLICY_NAME).read_bytes())
        data[-100] ^= 0xFF
        (bundle / POLICY_NAME).write_bytes(bytes(data))
    elif what == "term":
        manifest = json.loads((bundle / MANIFEST_NAME).read_text())
        del manifest["robot"]["observation_terms"]["position"]
        (bundle / MANIFEST_NAME).write_text(json.dumps(manifest))
    elif what == "newer":
        manifest = json.loads((bundle / MANIFEST_NAME).read_text())
        manifest["schema_version"] = SCHEMA_VERSION + 1
        (bundle / MANIFEST_NAME).write_text(json.dumps(manifest))
    elif what == "missing":
        (bundle / SELFCHECK_NAME).unlink()
    elif what == "recording":
        record = dict(np.load(bundle / SELFCHECK_NAME))
        record["actions"] = record["actions"] + 0.01
        np.savez_compressed(bundle / SELFCHECK_NAME, **record)


@pytest.mark.parametrize("what, message", [
    ("weights", r"policy.onnx is not the file the manifest describes \(sha256 differs\): the weights changed"),
    ("term", r"the manifest's robot section does not describe observation term\(s\) \['position'\]"),
    ("newer", rf"manifest.json has schema version {SCHEMA_VERSION + 1}; this reader understands up to "
              rf"{SCHEMA_VERSION}: update fastembody"),
    ("missing", r"selfcheck.npz is missing"),
    ("recording", r"policy.onnx gives actions up to 0.01 away from the torch policy"),
])
def test_a_tampered_bundle_fails_its_check(runs, what, message):
    robot, _ = runs
    bundle = export_run(robot, fmt="bundle")
    _tamper(bundle, what)
    with pytest.raises(FastEmbodyError, match=rf"^bundle .*bundle: {message}"):
        verify_bundle(bundle)
    out = CliRunner().invoke(cli, ["check-bundle", str(bundle)])
    assert out.exit_code != 0 and out.stderr.startswith("Error: bundle ") and "Traceback" not in out.output
