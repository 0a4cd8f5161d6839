"""Task completion on the tau-retail store (see __main__.py)."""
