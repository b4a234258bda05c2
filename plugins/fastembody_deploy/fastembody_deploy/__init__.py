"""fastembody-deploy: run a FastEmbody policy bundle on a Unitree Go2 (torch-free).

* :func:`~fastembody_deploy.bundle.load_bundle` reads and checks a bundle; :class:`~.bundle.OnnxPolicy` runs it;
* :class:`~fastembody_deploy.observation.ObservationBuilder` builds the policy's input from the low-level state
  exactly as the manifest says;
* :class:`~fastembody_deploy.state_machine.SafetyStateMachine`: passive -> stand up -> policy -> damping;
* :class:`~fastembody_deploy.runner.Runner`: the fixed-rate control loop over a :class:`~.runner.RobotIO`
  (:mod:`fastembody_deploy.dds`: the Go2 or go2-mujoco over DDS);
* ``fastembody-deploy BUNDLE`` on the robot, ``fastembody deploy BUNDLE --sim`` with the core installed.
"""
__version__ = "0.1.0"

from .bundle import Bundle, OnnxPolicy, load_bundle
from .errors import DeployError

__all__ = ["Bundle", "DeployError", "OnnxPolicy", "load_bundle", "__version__"]
