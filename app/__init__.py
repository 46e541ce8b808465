"""fm-tailor: one service answering catalog questions by RAG, fine-tuning and hybrid."""
