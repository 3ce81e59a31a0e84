"""Template tags of the admin's frame: what every admin page shows around its content."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from helpdesk import reports

register = template.Library()
_READS_DASHBOARDS = "_helpdesk_reads_dashboards"


@register.simple_tag(takes_context=True)
def dashboard_url(context: dict[str, Any]) -> str:
    """Return the address of the dashboards if the user may read them, else an empty string."""
    request = context.get("request")
    if request is None:
        return ""
    # Asked by the user links and the index alike: one look at the user's groups per request.
    allowed = getattr(request, _READS_DASHBOARDS, None)
    if allowed is None:
        allowed = reports.user_reads_dashboards(user=request.user)
        setattr(request, _READS_DASHBOARDS, allowed)
    return reverse("dashboard") if allowed else ""
