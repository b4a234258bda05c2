"""A go2 policy as a deployment bundle: the manifest's joint maps, gains and observation layout are the env's, and
the bundle passes its own check (export --format bundle on a go2-toy run)."""
import json

import pytest

from fastembody_core.bundle import MANIFEST_NAME, verify_bundle
from fastembody_core.config import experiment_from_dict
from fastembody_core.export import export_run
from fastembody_core.pipeline import run_experiment
from fastembody_go2 import robot


@pytest.mark.parametrize("deployable_policy", [False, True])
def test_go2_toy_bundle(tmp_path, deployable_policy):
    run_experiment(experiment_from_dict({
        "name": "go2_bundle_test", "device": "cpu",
        "env": {"name": "go2-toy", "params": {"num_envs": 16, "compile": False,
                                              "deployable_policy": deployable_policy}},
        "algorithm": {"name": "ppo", "params": {"actor_hidden_dims": [32], "critic_hidden_dims": [32],
                                                "obs_normalization": True}},
        "trainer": {"name": "on-policy", "params": {"max_iterations": 1, "num_steps_per_env": 8, "progress": False,
                                                    "tensorboard": False}},
    }, source="test"), run_dir=tmp_path / "run")
    bundle = export_run(tmp_path / "run", fmt="bundle")
    manifest = json.loads((bundle / MANIFEST_NAME).read_text())
    info, observation = manifest["robot"], manifest["observation"]
    for i, name in enumerate(info["joint_names"]):  # policy joint i is SDK joint policy_from_sdk[i]
        assert info["sdk_joint_names"][info["policy_from_sdk"][i]] == name
        assert info["joint_names"][info["sdk_from_policy"][info["policy_from_sdk"][i]]] == name
    assert info["sdk_joint_names"][:3] == ["FR_hip_joint", "FR_thigh_joint", "FR_calf_joint"]
    assert (info["kp"], info["kd"], info["action_scale"], info["control_dt"]) == (robot.KP, robot.KD, 0.25, 0.02)
    assert info["default_joint_pos"] == list(robot.DEFAULT_JOINT_POS)
    first = "base_ang_vel" if deployable_policy else "base_lin_vel"
    assert observation["terms"][0] == first and observation["dim"] == (45 if deployable_policy else 48)
    assert info["observation_terms"]["commands"]["scale"] == [2.0, 2.0, 0.25]
    assert verify_bundle(bundle)["max_abs_diff"] <= 1e-4


def test_go2_mujoco_describes_the_robot_as_go2_toy_does():
    pytest.importorskip("mujoco")
    from fastembody_core.contracts import DeployableEnv
    from fastembody_go2.mujoco.config import Go2MujocoParams
    from fastembody_go2.mujoco.env import Go2MujocoEnv
    from fastembody_go2.toy.config import Go2ToyParams
    from fastembody_go2.toy.env import Go2ToyEnv

    toy = Go2ToyEnv(Go2ToyParams(num_envs=1, compile=False))
    mujoco = Go2MujocoEnv(Go2MujocoParams(num_envs=1, compile=False))
    try:
        assert isinstance(toy, DeployableEnv) and isinstance(mujoco, DeployableEnv)
        assert toy.deployment_info() == mujoco.deployment_info()  # one description of the robot and its task
        json.dumps(mujoco.deployment_info())  # plain JSON data
    finally:
        mujoco.close()
