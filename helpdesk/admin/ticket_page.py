"""The ticket page: the conversation, the triage panel and the forms that clear a ticket in one place."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from helpdesk import selectors, services
from helpdesk.admin import access
from helpdesk.admin.forms import CorrectionForm, MergeForm, NoteForm, ReplyForm, TicketUpdateForm
from helpdesk.models import Language, Ticket, TicketService
from mailbridge import outgoing
from mailbridge.models import OutboxMail

TEMPLATE = "admin/helpdesk/ticket/ticket_page.html"
REQUEST_LABELS = {
    "request_error_message": _("the exact error message"),
    "request_problem_description": _("a description of the problem"),
    "request_callback_number": _("a callback number"),
}
FLAG_FIELDS = [
    "missing_error_message",
    "missing_problem_description",
    "callback_requested",
    "callback_number",
]


def _url(ticket: Ticket, anchor: str = "") -> str:
    return reverse("admin:helpdesk_ticket_change", args=[ticket.pk]) + (f"#{anchor}" if anchor else "")


def _reply_language(request: HttpRequest, ticket: Ticket) -> str:
    chosen = request.POST.get("language") or request.GET.get("language", "")
    return chosen if chosen in Language.values else selectors.canned_reply_language(ticket=ticket)


def _agent_name(request: HttpRequest) -> str:
    user = access.actor(request)
    return user.get_full_name() or user.get_username()


def _canned_text(request: HttpRequest, ticket: Ticket, key: str) -> str:
    reply = selectors.canned_reply_get(key=key, language=_reply_language(request, ticket)) if key else None
    if reply is None:
        return ""
    return selectors.canned_reply_render(reply=reply, ticket=ticket, agent_name=_agent_name(request))


def _reply_form(request: HttpRequest, ticket: Ticket) -> ReplyForm:
    # A link may ask for the page with a reply template in the box (?canned=KEY&language=LANG).
    text = _canned_text(request, ticket, request.GET.get("canned", ""))
    return ReplyForm(initial={"text": text}) if text else ReplyForm()


def _canned(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    """The reply templates offered in the reply form, and every language's texts for the insert script."""
    language = _reply_language(request, ticket)
    offered = selectors.canned_replies_by_language(languages=Language.values)
    agent = _agent_name(request)
    texts = {
        code: [
            {
                "key": reply.key,
                "title": reply.title,
                "text": selectors.canned_reply_render(reply=reply, ticket=ticket, agent_name=agent),
            }
            for reply in replies
        ]
        for code, replies in offered.items()
    }
    chosen = request.POST.get("canned") or request.GET.get("canned", "")
    return {
        "replies": offered[language],
        "language": language,
        "languages": Language.choices,
        "chosen": chosen,
        "texts": texts,
    }


def _correction_form(ticket: Ticket) -> CorrectionForm:
    initial: dict[str, Any] = {name: getattr(ticket, name) for name in FLAG_FIELDS}
    initial["services"] = selectors.ticket_service_slugs(ticket=ticket)
    return CorrectionForm(initial=initial, ticket=ticket)


def _triage() -> ModuleType:
    # triage.services pulls in the classifier stack (scikit-learn, spaCy): load it on first use, so
    # starting the admin (and every management command, which imports it) stays fast.
    return importlib.import_module("triage.services")


def _triage_panel(ticket: Ticket) -> dict[str, Any]:
    run = _triage().ticket_latest_run(ticket=ticket)
    result = run.result if run is not None and isinstance(run.result, dict) else {}
    confidence = result.get("confidence") or {}
    links = {link.service.slug: link for link in ticket.service_links.all()}
    rows = [
        {"slug": slug, "link": links.get(slug), "confidence": confidence.get(slug)}
        for slug in sorted(set(links) | set(confidence), key=lambda s: -(confidence.get(s) or 0))
    ]
    # What the customer was asked automatically, and when (the outbox keeps the truth about sending).
    outbox = OutboxMail.objects.filter(ticket=ticket, automatic=True).order_by("created_at")
    requests = [
        {"mail": mail, "asked": [REQUEST_LABELS.get(a, a) for a in mail.requested]} for mail in outbox
    ]
    return {"run": run, "services": rows, "requests": requests}


def page(
    model_admin: Any, request: HttpRequest, pk: int, bound: dict[str, Form] | None = None
) -> HttpResponse:
    """Render the ticket page; `bound` carries a submitted form with its errors back to the agent."""
    ticket = access.ticket_for(request, pk)
    # The header's tags and the triage panel read the same links: one query, however many tags.
    links = TicketService.objects.select_related("service").order_by("service__slug")
    prefetch_related_objects([ticket], Prefetch("service_links", queryset=links))
    bound = bound or {}
    may_change = request.user.has_perm("helpdesk.change_ticket")
    thread = selectors.ticket_thread(ticket=ticket).select_related("author").prefetch_related("outbox")
    visible = access.visible_tickets(request)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Ticket._meta,
        "title": f"{ticket.subject_tag} {ticket.subject}",
        "ticket": ticket,
        "thread": list(thread),
        "history": list(selectors.ticket_history(ticket=ticket)),
        "triage": _triage_panel(ticket),
        "may_change": may_change,
        "related": {
            "merged_into": ticket.merged_into,
            "linked_to": ticket.linked_to,
            "merged": list(visible.filter(merged_into=ticket).only("pk", "reference", "subject")),
            "customer_tickets": list(
                visible.filter(customer_id=ticket.customer_id)
                .exclude(pk=ticket.pk)
                .only("pk", "reference", "subject", "status")
                .order_by("-created_at")[:10]
            ),
        },
        "customer_emails": list(ticket.customer.emails.all()),
        "customer_phones": list(ticket.customer.phones.all()),
        "canned": _canned(request, ticket) if may_change else None,
        "reply_form": bound.get("reply") or _reply_form(request, ticket),
        "note_form": bound.get("note") or NoteForm(),
        "update_form": bound.get("update") or TicketUpdateForm(ticket=ticket),
        "correction_form": bound.get("correct") or _correction_form(ticket),
        "merge_form": bound.get("merge") or MergeForm(),
    }
    return TemplateResponse(request, TEMPLATE, context)


def _invalid(model_admin: Any, request: HttpRequest, ticket: Ticket, name: str, form: Form) -> HttpResponse:
    messages.error(request, gettext("Please correct the errors below."))
    return page(model_admin, request, ticket.pk, bound={name: form})


@require_POST
def reply(request: HttpRequest, pk: int, *, model_admin: Any) -> HttpResponse:
    """Send the agent's reply to the customer through the outbox."""
    ticket = access.ticket_for(request, pk, change=True)
    if "insert" in request.POST:
        return _insert_canned(model_admin, request, ticket)
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _invalid(model_admin, request, ticket, "reply", form)
    files = [
        services.AttachmentData(
            filename=f.name or "attachment",
            content_type=f.content_type or "application/octet-stream",
            content=f.read(),
        )
        for f in form.cleaned_data["attachments"]
    ]
    try:
        with transaction.atomic():
            outgoing.agent_reply_send(
                ticket=ticket,
                author=access.actor(request),
                text=form.cleaned_data["text"],
                attachments=files,
                cc=form.cleaned_data["cc"],
            )
            if form.cleaned_data["then_status"]:
                services.ticket_set_status(
                    ticket=ticket, status=form.cleaned_data["then_status"], actor=access.actor(request)
                )
    except ValueError as exc:
        form.add_error(None, str(exc))
        return _invalid(model_admin, request, ticket, "reply", form)
    messages.success(request, gettext("Reply queued for sending."))
    return HttpResponseRedirect(_url(ticket, "conversation-end"))


def _insert_canned(model_admin: Any, request: HttpRequest, ticket: Ticket) -> HttpResponse:
    """Without JavaScript: put the chosen reply template after the typed text and show the form again."""
    typed = request.POST.get("text", "").rstrip()
    template = _canned_text(request, ticket, request.POST.get("canned", ""))
    initial = {
        "text": "\n\n".join(part for part in (typed, template) if part),
        "cc": request.POST.get("cc", ""),
        "then_status": request.POST.get("then_status", ""),
    }
    if request.FILES:
        # A browser never sends chosen files back to the server in a page: they must be chosen again.
        messages.warning(request, gettext("Template inserted; please choose the attachments again."))
    return page(model_admin, request, ticket.pk, bound={"reply": ReplyForm(initial=initial)})


@require_POST
def note(request: HttpRequest, pk: int, *, model_admin: Any) -> HttpResponse:
    """Add an internal note to the ticket."""
    ticket = access.ticket_for(request, pk, change=True)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _invalid(model_admin, request, ticket, "note", form)
    services.ticket_add_note(ticket=ticket, author=access.actor(request), text=form.cleaned_data["text"])
    messages.success(request, gettext("Internal note added."))
    return HttpResponseRedirect(_url(ticket, "conversation-end"))


@require_POST
def update(request: HttpRequest, pk: int, *, model_admin: Any) -> HttpResponse:
    """Change status, priority, assignee and queue, each through its service (and so into the history)."""
    ticket = access.ticket_for(request, pk, change=True)
    form = TicketUpdateForm(request.POST, ticket=ticket)
    if not form.is_valid():
        return _invalid(model_admin, request, ticket, "update", form)
    data, user = form.cleaned_data, access.actor(request)
    with transaction.atomic():
        services.ticket_set_status(ticket=ticket, status=data["status"], actor=user)
        services.ticket_set_priority(ticket=ticket, priority=data["priority"], actor=user)
        services.ticket_assign(ticket=ticket, assignee=data["assignee"], actor=user)
        services.ticket_move(ticket=ticket, queue=data["queue"], actor=user)
    messages.success(request, gettext("Ticket %(ref)s updated.") % {"ref": ticket.reference})
    if not access.visible_tickets(request).filter(pk=ticket.pk).exists():
        # Moved to a queue this agent does not work: the ticket is out of their sight now.
        return HttpResponseRedirect(reverse("admin:helpdesk_ticket_changelist"))
    return HttpResponseRedirect(_url(ticket))


@require_POST
def correct(request: HttpRequest, pk: int, *, model_admin: Any) -> HttpResponse:
    """Correct triage's services and flags; triage keeps each change as a training example."""
    ticket = access.ticket_for(request, pk, change=True)
    form = CorrectionForm(request.POST, ticket=ticket)
    if not form.is_valid():
        return _invalid(model_admin, request, ticket, "correct", form)
    user, triage_services = access.actor(request), _triage()
    slugs = sorted(tag.slug for tag in form.cleaned_data["services"])
    with transaction.atomic():
        if slugs != sorted(selectors.ticket_service_slugs(ticket=ticket)):
            triage_services.ticket_correct_services(ticket=ticket, services=slugs, agent=user)
        for name in FLAG_FIELDS:
            if form.cleaned_data[name] != getattr(ticket, name):
                triage_services.ticket_correct_flag(
                    ticket=ticket, field=name, value=form.cleaned_data[name], agent=user
                )
        if form.cleaned_data.get("reviewed"):
            services.ticket_mark_reviewed(ticket=ticket, actor=user)
    messages.success(request, gettext("Triage corrected; the change is kept for training."))
    return HttpResponseRedirect(_url(ticket, "triage"))


@require_POST
def merge(request: HttpRequest, pk: int, *, model_admin: Any) -> HttpResponse:
    """Merge this ticket into another one the agent can see."""
    ticket = access.ticket_for(request, pk, change=True)
    form = MergeForm(request.POST)
    target = None
    if form.is_valid():
        target = access.visible_tickets(request).filter(reference=form.cleaned_data["target"]).first()
        if target is None:
            form.add_error("target", gettext("No ticket with this reference in your queues."))
    if target is None:
        return _invalid(model_admin, request, ticket, "merge", form)
    try:
        services.ticket_merge(source=ticket, target=target, actor=access.actor(request))
    except ValueError as exc:
        form.add_error("target", str(exc))
        return _invalid(model_admin, request, ticket, "merge", form)
    messages.success(
        request,
        gettext("%(source)s merged into %(target)s.")
        % {"source": ticket.reference, "target": target.reference},
    )
    return HttpResponseRedirect(_url(target))
