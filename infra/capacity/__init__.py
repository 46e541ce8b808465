"""The fleet's capacity table: requests per second per task, tasks and monthly cost per load."""
