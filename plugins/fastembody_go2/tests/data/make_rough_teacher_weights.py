"""Write ``rough_teacher_weights.pt``, the test data of the terrain-curriculum learning test, from a rough teacher run.

    python plugins/fastembody_go2/tests/data/make_rough_teacher_weights.py runs/bench_go2_rough/teacher [--checkpoint N]

Keeps what ``trainer.params.init_checkpoint`` loads into PPO: the actor's and critic's weights and normaliser in
float16 (loaded back into float32 networks), the architecture, and a fresh optimiser (its moments dropped); no env,
trainer or RNG state. About 1.2 MB for legged_gym's [512, 256, 128] networks over the 235 / 243 inputs.
"""
import argparse
from pathlib import Path

import torch

from fastembody_core.checkpoint import load_checkpoint, resolve_checkpoint, save_checkpoint

OUT = Path(__file__).resolve().parent / "rough_teacher_weights.pt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--checkpoint", help="iteration or file (default: the latest)")
    args = parser.parse_args()
    source = resolve_checkpoint(args.run_dir, args.checkpoint)
    payload = load_checkpoint(source)
    state = dict(payload["algorithm_state"])
    for key in ("actor_state", "critic_state"):
        state[key] = {k: v.half() if v.is_floating_point() else v for k, v in state[key].items()}
    optimizer = state["optimizer_state"]
    state["optimizer_state"] = {"state": {}, "param_groups": optimizer["param_groups"]}
    save_checkpoint(OUT, {"iteration": payload["iteration"], "algorithm": payload["algorithm"],
                          "algorithm_state": state, "config": payload.get("config", {}),
                          "env_state": {}, "trainer_state": {}})
    print(f"{OUT}: {OUT.stat().st_size / 1e6:.2f} MB from {source} (iteration {payload['iteration']})")


if __name__ == "__main__":
    main()
