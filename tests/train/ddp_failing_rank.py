"""`torchrun ... tests/train/ddp_failing_rank.py <train overrides>`: the training entry point with rank 1's training
step raising, for tests/train/test_distributed.py (a failure on one rank must fail the run and name the rank)."""

import os

from tfgbv.cli.train import main
from tfgbv.train.transformer import MaskedBCETrainer

FAILING_RANK = 1
_compute_loss = MaskedBCETrainer.compute_loss


def compute_loss(self, *args, **kwargs):
    if int(os.environ.get("RANK", "0")) == FAILING_RANK:
        raise RuntimeError("injected failure in the training step")
    return _compute_loss(self, *args, **kwargs)


if __name__ == "__main__":
    MaskedBCETrainer.compute_loss = compute_loss
    main()
