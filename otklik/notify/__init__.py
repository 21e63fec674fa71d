"""Notifications to staff: who is told what, on which channel, when (quiet hours, digest).

Events become `notifications` rows in the same transaction as the action that caused them (the
outbox pattern, as for replies); RQ workers deliver them, each exactly once per channel."""
