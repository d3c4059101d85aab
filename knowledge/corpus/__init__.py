"""The corpus: the documents and entries the assistant cites, and the ingestion of outside documents."""
