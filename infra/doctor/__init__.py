"""`python -m infra.doctor`: a read-only preflight of the AWS account the settings name."""
