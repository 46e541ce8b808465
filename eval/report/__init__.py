"""The HTML report: verdict, tables and plots in one self-contained file."""
