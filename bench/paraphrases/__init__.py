"""Paraphrase suite: customer messages written fresh for the demo pack, and what they must be understood as."""
