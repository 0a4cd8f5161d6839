"""The email channel (issue 13): inbound by SMTP listener or IMAP mailbox, one reply per email, threads kept
with the conversation, console replies sent by email. See channel.py for the flow, docs/channels-email-sms.md."""
