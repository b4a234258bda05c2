"""go2-mujoco: the Go2 in MuJoCo on CPU (docs/go2_mujoco.md). Importing this package loads neither mujoco nor torch."""
