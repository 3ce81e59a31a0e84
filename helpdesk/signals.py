"""Signals of the ticket core: sent after a customer's message is committed, whatever channel brought it."""

from django.dispatch import Signal

# Sent on commit with: message_id (pk of the Message), ticket_id, new_ticket (bool), automated (bool).
# Triage listens and starts the automatic answer; automated mail (auto-replies, bounces) is announced too.
customer_message_received = Signal()
