"""Upload the catalog to the Knowledge Base's bucket and sync it: `python -m infra.kb_sync`."""
