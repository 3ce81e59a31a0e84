"""The agent workspace in the Django admin: ticket list and page, customers, reply templates, settings."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from helpdesk.admin import canned, config, customers, tickets

__all__ = ["canned", "config", "customers", "tickets"]

# Agents and managers see the product's name, not the framework's.
admin.site.site_header = _("Support desk")
admin.site.site_title = _("Support desk")
admin.site.index_title = _("Tickets, mail and triage")
