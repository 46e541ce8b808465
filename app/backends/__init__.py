"""Backend composition and what backends share: AWS clients, bundled models, embeddings."""
