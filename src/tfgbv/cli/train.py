"""`python -m tfgbv.cli.train` and `tfgbv-train`: the training entry point (tfgbv.cli.run.train), launchable in
several processes (`torchrun --nproc_per_node=N -m tfgbv.cli.train ...`, `accelerate launch -m tfgbv.cli.train ...`).

Ranks other than 0 get Hydra overrides that keep them from writing (tfgbv.train.distributed.hydra_overrides_for_rank):
their run directory is rank 0's, and only rank 0 writes it.
"""

from __future__ import annotations

import sys

from tfgbv.cli.run import train
from tfgbv.train.distributed import hydra_overrides_for_rank


def main() -> None:
    sys.argv.extend(hydra_overrides_for_rank())
    train()  # nothing returned: a console script's sys.exit(main()) would turn a score into an exit status


if __name__ == "__main__":
    main()
