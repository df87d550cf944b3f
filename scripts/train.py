"""Train a TFGBV classifier (Hydra entry point). Example: python scripts/train.py model=tiny debug=fast
Several processes: torchrun --nproc_per_node=2 scripts/train.py ... (or -m tfgbv.cli.train; README)."""

from tfgbv.cli.train import main

if __name__ == "__main__":
    main()
