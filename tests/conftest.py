"""Shared test setup: offline Hugging Face, a tiny corpus, a tiny trained run built once per session."""

from __future__ import annotations

import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

from tests.helpers import FIXTURES  # noqa: E402


@pytest.fixture(scope="session")
def tiny_corpus_path() -> Path:
    return FIXTURES / "tiny_corpus.jsonl"


@pytest.fixture(scope="session")
def tiny_split_dir(tmp_path_factory, tiny_corpus_path) -> Path:
    """The fixture corpus copied as train, dev and test files (ids made unique per split)."""
    import json

    out = tmp_path_factory.mktemp("tiny_split")
    rows = [json.loads(line) for line in tiny_corpus_path.read_text(encoding="utf-8").splitlines()]
    for split in ("train", "dev", "test"):
        with (out / f"{split}.jsonl").open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps({**row, "id": f"{split}-{row['id']}"}, ensure_ascii=False) + "\n")
    return out


@pytest.fixture(scope="session")
def tiny_data(tiny_split_dir):
    """Train, dev and test with the same 20 texts: tiny runs only need the plumbing to work."""
    from tfgbv.data.sources import SourceSpec, load_data

    spec = SourceSpec(name="fixture", files={s: [str(tiny_split_dir / f"{s}.jsonl")] for s in ("train", "dev", "test")})
    return load_data([spec])


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_data):
    """A tiny model trained for a few steps; the run directory is shared by the end-to-end tests."""
    from tfgbv.models.build import ModelSpec, TextPrep
    from tfgbv.train.transformer import TrainSpec, train

    run_dir = tmp_path_factory.mktemp("tiny_run")
    spec = ModelSpec(
        source="tiny",
        name_or_path="tiny-bert",
        short_name="tiny",
        pooling="cls",
        text=TextPrep(max_length=32),
        tiny={
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "vocab_size": 300,
        },
    )
    tspec = TrainSpec(
        max_steps=6,
        per_device_train_batch_size=8,
        eval_strategy="no",
        early_stopping_patience=None,
        logging_steps=1,
        learning_rate=1e-3,
        bf16=False,
    )
    summary = train(tiny_data, spec, tspec, run_dir, seed=1, resolved_config={"model": "tiny"})
    return Path(summary["run_dir"])
