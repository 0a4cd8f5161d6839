"""The web console for the business's owner, supervisors and tier-2 agents (server-rendered, at /console)."""
