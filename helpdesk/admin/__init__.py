"""The agent workspace in the Django admin: ticket list and page, customers, reply templates, settings."""

from helpdesk.admin import canned, config, customers, tickets

__all__ = ["canned", "config", "customers", "tickets"]
