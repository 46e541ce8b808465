"""Retrieval measurement: the local retriever's gold-product hit rate on a QA test set."""
