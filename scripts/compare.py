"""Compare two evaluations of the same data (Hydra entry point).

Example: python scripts/compare.py a=runs/latest b=<run>/eval-seed
"""

from tfgbv.cli.run import compare

if __name__ == "__main__":
    compare()
