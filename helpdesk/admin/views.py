"""Views that serve mail content: the sanitised HTML of a message in a locked-down frame, attachments."""

from __future__ import annotations

import logging

from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseNotFound
from django.utils.translation import gettext
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET
from django.views.i18n import set_language

from helpdesk.admin import access
from helpdesk.sanitise import sanitise_html

logger = logging.getLogger(__name__)

# Nothing in a customer's mail may run, load anything or reach the admin around it: no scripts, no
# fonts, no remote images (only data: ones), no forms, and the document is sandboxed (an opaque origin).
FRAME_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
DOWNLOAD_CSP = "default-src 'none'; sandbox"
_FRAME_STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;color:#222;background:#fff;margin:8px;overflow-wrap:anywhere}"
    "blockquote{border-left:3px solid #ccc;margin:0 0 0 4px;padding-left:8px;color:#555}"
    "pre{white-space:pre-wrap}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 4px}"
)


def _frame_document(body: str) -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">'
        # Links would open a new window, which the sandbox refuses: a click loads nothing, the address
        # can still be copied.
        '<base target="_blank">'
        f"<style>{_FRAME_STYLE}</style></head><body>{body}</body></html>"
    )


@require_GET
@xframe_options_sameorigin
def message_html(request: HttpRequest, pk: int) -> HttpResponse:
    """Serve a message's HTML for the ticket page's frame, sanitised again and under a strict CSP."""
    message = access.message_for(request, pk)
    # Sanitised on the way in already; again here, so a stricter allowlist also covers stored mail.
    response = HttpResponse(
        _frame_document(sanitise_html(message.html)), content_type="text/html; charset=utf-8"
    )
    response["Content-Security-Policy"] = FRAME_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@require_GET
def attachment_download(request: HttpRequest, pk: int) -> FileResponse | HttpResponseNotFound:
    """Send an attachment as a download, never as a page: an HTML attachment must not render here."""
    attachment = access.attachment_for(request, pk)
    try:
        handle = attachment.file.open("rb")
    except OSError:
        logger.warning("attachment %s: file %s is missing from storage", attachment.pk, attachment.file.name)
        return HttpResponseNotFound(
            gettext("The file of this attachment is missing from storage."),
            content_type="text/plain; charset=utf-8",
        )
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.filename,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Referrer-Policy"] = "no-referrer"
    return response


def language_set(request: HttpRequest) -> HttpResponse:
    """Remember the agent's choice of interface language (Django's own view, inside the admin)."""
    return set_language(request)
