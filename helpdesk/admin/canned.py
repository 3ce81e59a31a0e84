"""Canned replies: texts an agent starts a reply from, one template file per language."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Ticket

LANGUAGES = ("de", "en", "fr", "it")
# key -> title shown in the reply form; texts live in templates/helpdesk/replies/<key>.<language>.txt
CANNED_REPLIES: dict[str, Promise] = {
    "ask_error_message": _("Ask for the exact error message"),
    "outage": _("Known outage: we are working on it"),
    "outage_over": _("Outage over: please try again"),
    "callback": _("We will call you back"),
    "solved": _("Solved: please confirm"),
}


def reply_language(ticket: Ticket) -> str:
    """Return the language to answer the ticket's customer in."""
    for language in (ticket.language, ticket.customer.language, settings.HELPDESK_DEFAULT_LANGUAGE):
        if language in LANGUAGES:
            return language
    return "en"


def canned_reply_render(*, key: str, language: str, ticket: Ticket, agent_name: str) -> str:
    """Return the canned reply's text for this ticket, in the language (English when unknown)."""
    if key not in CANNED_REPLIES:
        raise KeyError(key)
    language = language if language in LANGUAGES else "en"
    context = {
        "name": ticket.customer.name,
        "reference": ticket.reference,
        "subject": ticket.subject,
        "agent": agent_name,
        "callback_number": ticket.callback_number,
    }
    # Plain text that goes into a textarea: the widget escapes it, the template must not.
    return render_to_string(f"helpdesk/replies/{key}.{language}.txt", context).strip() + "\n"
