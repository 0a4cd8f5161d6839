"""Running Helpline in production: the background worker, metrics, readiness, logs (docs/deployment.md)."""
