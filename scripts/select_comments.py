"""Choose comments to annotate and write a Label Studio batch (Hydra entry point). Example:
python scripts/select_comments.py model_dir=runs/latest input=dump.jsonl out_dir=batches/tg-01 n=200
(Not scripts/select.py: that name would shadow the standard library module `select` for every script in scripts/.)"""

from tfgbv.cli.annotate import select

if __name__ == "__main__":
    select()
