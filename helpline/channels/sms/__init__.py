"""The SMS channel (issue 13): Twilio's webhook and REST API, a generic JSON webhook, segment-aware wording,
STOP/START/HELP opt-outs honoured for everything sent (docs/channels-email-sms.md, "## SMS")."""
