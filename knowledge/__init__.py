"""Knowledge base of the migrant rights assistant: corpus, ingestion, embeddings, index, retrieval."""

from knowledge.errors import KnowledgeError

__all__ = ["KnowledgeError"]
