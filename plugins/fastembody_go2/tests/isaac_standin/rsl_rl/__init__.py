"""Stand-in of rsl_rl v1.0.2 (legged_gym's task_registry imports it); tests only."""
