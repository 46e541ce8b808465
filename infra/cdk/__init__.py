"""The AWS CDK app of the RAG path: catalog bucket, vector store, Bedrock Knowledge Base."""
