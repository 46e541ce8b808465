"""AWS infrastructure and fine-tuning pipelines of fm-tailor."""
