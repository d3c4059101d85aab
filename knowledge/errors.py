"""Exceptions of the knowledge package; each message says what to do next."""


class KnowledgeError(Exception):
    """Base class for every error raised by the knowledge package."""


class CorpusError(KnowledgeError):
    """The corpus files are malformed, incomplete or inconsistent."""


class IngestionError(KnowledgeError):
    """An outside document could not be read or chunked."""


class EmbedderError(KnowledgeError):
    """An embedding backend could not be created or loaded."""


class IndexMissingError(KnowledgeError):
    """No index has been built at the expected place."""


class IndexMismatchError(KnowledgeError):
    """The saved index was built with another embedder, dimension or corpus."""
