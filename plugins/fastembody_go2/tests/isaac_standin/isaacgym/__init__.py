"""Stand-in of Isaac Gym Preview 4's ``isaacgym`` package (tests only; see ../README.md)."""
from isaacgym import gymdeps  # noqa: F401  (raises if torch was imported first)
