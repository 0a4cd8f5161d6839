"""Optional language model: the port the core depends on, and the adapters that speak to a model server."""
