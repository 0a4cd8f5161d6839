"""What Helpline sends on its own: replies by email and SMS, follow-ups, surveys, outage notices, reminders."""
