"""The append-only record of who changed what, and of every sign-in event."""
