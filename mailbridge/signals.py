"""Signals the bridge sends after a mail's ticket work has committed (triage and outgoing mail listen)."""

from django.dispatch import Signal

# Sent on commit with: message_id (pk of helpdesk Message), ticket_id, new_ticket (bool), automated (bool).
mail_ingested = Signal()
