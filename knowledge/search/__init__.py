"""Search: the FAISS index, the scope model and the query-time retriever."""
