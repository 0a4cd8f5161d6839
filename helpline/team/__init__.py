"""Working with the team without handing off: questions the agent asks a colleague, hand-off notices, and the
team chat webhooks (Slack, Mattermost, Microsoft Teams) they are posted to."""
