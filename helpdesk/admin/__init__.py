"""The agent workspace in the Django admin: ticket list and page, customers, configuration."""

from helpdesk.admin import config, customers, tickets

__all__ = ["config", "customers", "tickets"]
