"""End to end over DDS on loopback: the unchanged runner (a child process) drives go2-mujoco through the simulator
bridge. The policy holds the default pose (zero actions), so the robot must lie in passive, stand up, and stand
under the policy's gains; the runner's observation must equal go2-mujoco's own, term by term, to 1e-5."""
import numpy as np
import pytest

pytest.importorskip("mujoco")
pytest.importorskip("fastembody_go2")

from fastembody_deploy.bundle import load_bundle  # noqa: E402
from fastembody_deploy.errors import DeployError  # noqa: E402
from fastembody_deploy.sim_session import run_sim_session  # noqa: E402

MEASURED = ("base_ang_vel", "projected_gravity", "commands", "joint_pos", "joint_vel")


@pytest.fixture(scope="module")
def sdk():
    from fastembody_deploy import dds

    try:
        dds.import_sdk()
    except DeployError as exc:
        pytest.skip(str(exc))


def test_the_runner_stands_go2_mujoco_up_over_dds(sdk, bundle_factory):
    from fastembody_core import make_env

    env = make_env("go2-mujoco", {"num_envs": 1, "compile": False, "noise_level": 0.0,
                                  "randomization": {"push_robots": False, "init_base_vel": 0.0}})
    bundle = load_bundle(bundle_factory(robot=env.deployment_info()))
    sim = env.joint_level_sim(0)
    published = {}

    def watch(bridge):
        def on_publish(state, command):
            groups = sim.observation((0.3, 0.0, 0.0), np.zeros(12))
            published[int(round(state["time"] * 1000))] = groups["deployable"]
        bridge.on_publish = on_publish

    try:
        result = run_sim_session(bundle, sim, 5.0, (0.3, 0.0, 0.0), "stand@0.3,walk@2.5", record=True,
                                 on_bridge=watch)
    finally:
        env.close()
    assert result.returncode == 0, result.output
    assert [t[2] for t in result.report["transitions"]] == ["stand_up", "policy"], result.output
    assert result.bad_crc == 0 and result.commands_received > 100
    standing = result.policy_samples(settle_s=0.5)
    assert standing and min(s["base_pos"][2] for s in standing) > 0.2  # stood up, and stands on the policy's PD
    assert not result.fell(bundle.max_tilt)
    offsets = bundle.term_slices
    matched = 0
    for row in result.report["observations"]:
        ref = published.get(row["tick"])
        if ref is None:
            continue
        matched += 1
        for term in MEASURED:
            assert np.abs(np.asarray(row["terms"][term]) - ref[offsets[term]]).max() < 1e-5, term
    assert matched > 20


def test_fastembody_deploy_sim_runs_the_runner_against_go2_mujoco(sdk, bundle_factory):
    from click.testing import CliRunner

    from fastembody_core import make_env
    from fastembody_core.cli import cli

    env = make_env("go2-mujoco", {"num_envs": 1, "compile": False})
    robot = env.deployment_info()
    env.close()
    bundle = bundle_factory(robot=robot)
    result = CliRunner().invoke(cli, ["deploy", str(bundle), "--sim", "--duration", "4", "--command", "0,0,0",
                                      "--set", "randomization.init_base_vel=0.0"])
    assert result.exit_code == 0, result.output
    assert "stand_up -> policy: operator walk" in result.output and "no fall" in result.output
    assert "0 bad CRC" in result.output
