"""Fine-tuning pipelines: LoRA on the CPU for the embedded model, and SageMaker JumpStart."""
