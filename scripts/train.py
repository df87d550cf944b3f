"""Train a TFGBV classifier (Hydra entry point). Example: python scripts/train.py model=tiny debug=fast"""

from tfgbv.cli.run import train

if __name__ == "__main__":
    train()
