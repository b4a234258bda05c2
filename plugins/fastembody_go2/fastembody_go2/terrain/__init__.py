"""Rough terrain shared by every Go2 backend: params, the seeded height field, lookups, height scan, curriculum,
evaluation courses and the MuJoCo hfield export.

* ``params``: ``TerrainParams`` (torch-free; importing this package or ``params`` does not import torch).
* ``generator``: ``generate_terrain(params, seed) -> Terrain`` (legged_gym's tile grid).
* ``field``: ``Terrain`` and the lookups ``ground_surface`` (the walking surface; ``ground_patch`` adds the cells
  around), ``ground_normal``, ``ground_height`` (= ``column_top``, the cell's height sample), ``cell_index``,
  ``column_contacts``. World frame and the surface model (smooth below the slope threshold, vertical risers above)
  are documented there.
* ``scan``: ``scan_points``, ``height_scan``, ``mean_ground_height``.
* ``curriculum``: ``TerrainCurriculum``; ``run_state``: ``TerrainRunState`` (an env's tiles, spawn points and resume
  state, with ``ground_fingerprint``), the part of go2-toy's and go2-mujoco's terrain handling they share.
* ``course_specs`` (torch-free): ``COURSES``, ``CourseName`` and the success constants; ``courses``: ``build_course``,
  ``course_progress`` and what an env needs to run one (``course_setup``, ``course_outcome``).
* ``mujoco_hfield``: ``hfield_spec``, ``hfield_xml``, ``write_hfield``, ``hfield_height``.
* ``mujoco_boxes``: ``ground_boxes``, ``flat_top_cells``, ``box_ceiling`` (the flat-topped ground as boxes, for MuJoCo).

The torch-based names below are imported on first use (PEP 562), so configs validate without torch.
"""
import importlib
from typing import Any

from .params import (DEFAULT_PROPORTIONS, HEIGHT_SCAN_NOISE_M, HEIGHT_SCAN_OBS_SCALE, TERRAIN_KINDS, TILE_TYPES,
                     TerrainParams)

_LAZY = {
    "Terrain": "field", "ground_height": "field", "column_top": "field", "cell_index": "field",
    "ground_normal": "field", "column_contacts": "field", "ground_surface": "field", "ground_patch": "field",
    "generate_terrain": "generator", "row_difficulties": "generator", "column_types": "generator",
    "scan_points": "scan", "height_scan": "scan", "mean_ground_height": "scan",
    "TerrainCurriculum": "curriculum", "TerrainRunState": "run_state", "ground_fingerprint": "run_state",
    "COURSES": "course_specs", "COURSE_SPECS": "course_specs", "CourseName": "course_specs",
    "build_course": "courses", "course_progress": "courses", "course_setup": "courses", "course_outcome": "courses",
    "COURSE_COMMAND_VX": "course_specs", "COURSE_SUCCESS_DISTANCE_M": "course_specs", "COURSE_TIME_LIMIT_S": "course_specs",
    "HFieldSpec": "mujoco_hfield", "hfield_spec": "mujoco_hfield", "hfield_xml": "mujoco_hfield",
    "write_hfield": "mujoco_hfield", "hfield_height": "mujoco_hfield",
    "GroundBoxes": "mujoco_boxes", "ground_boxes": "mujoco_boxes", "flat_top_cells": "mujoco_boxes",
    "box_ceiling": "mujoco_boxes",
}

__all__ = ["DEFAULT_PROPORTIONS", "HEIGHT_SCAN_NOISE_M", "HEIGHT_SCAN_OBS_SCALE", "TERRAIN_KINDS", "TILE_TYPES",
           "TerrainParams", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
