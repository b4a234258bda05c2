"""The runner's one error type: a message of one line, printed without a traceback."""


class DeployError(Exception):
    """Bad input (bundle, interface, robot state): one line naming what is wrong; nothing was sent to the robot
    except damping."""

    exit_code = 2
