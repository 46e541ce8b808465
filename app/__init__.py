"""fm-tailor: one service answering catalog questions by RAG, fine-tuning and hybrid."""

import os

# torch (the retriever's MiniLM) and llama.cpp share one OpenMP runtime in this process, and
# OpenMP reads this once, when the first of them loads it. Spinning workers made llama.cpp 75x
# slower beside torch on 2 cores (33 s instead of 0.44 s for one short answer, measured); sleeping
# workers cost nothing measurable. Set here because every entry point imports `app` first.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
