"""Datasets: what exists (for the API and the form) and how its arrays load (for the worker)."""
