"""The demo data set of `make run`: customers and tickets in de/en/fr in every state, with what triage found,
the automatic mail it sent, agents' replies and notes, and one quarantined mail."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from helpdesk import selectors, services
from helpdesk.models import Direction, Message, MessageKind, Ticket, TicketStatus
from mailbridge.models import InboundMail, InboundStatus, Mailbox, OutboxKind, OutboxMail, OutboxStatus
from triage.models import TriageRun


@dataclass(frozen=True)
class DemoMail:
    name: str
    address: str
    language: str
    queue: str
    subject: str
    body: str
    status: str = TicketStatus.NEW
    services: tuple[str, ...] = ()
    reply: str = ""
    # What triage found and asked for automatically (the demo stands in for a real triage run).
    asked: tuple[str, ...] = ()
    error_message: str = ""
    callback_number: str = ""
    needs_review: bool = False
    html: str = ""
    note: str = ""
    reply_failed: bool = False
    assign_to_admin: bool = False


DEMO_MAILS = [
    DemoMail(
        "Monika Huber",
        "monika.huber@baeckerei-huber.example",
        "de",
        "support",
        "Mails kommen nicht an",
        "Grüezi\n\nSeit gestern kommen bei info@baeckerei-huber.example keine Mails mehr an.\n"
        "Versenden geht normal.\n\nFreundliche Grüsse\nMonika Huber",
        status=TicketStatus.WAITING,
        services=("email",),
        asked=("request_error_message",),
    ),
    DemoMail(
        "Rachel Owens",
        "rachel@greenleaf-yoga.example",
        "en",
        "emergency",
        "Site down!!",
        "Hi,\n\nour WordPress site only shows:\n\nError establishing a database connection\n\n"
        "Please help, classes start in an hour.\n\nRachel",
        status=TicketStatus.OPEN,
        services=("website", "database"),
        reply="Hello Rachel, the database server was restarted; your site is back. Kind regards, Support",
        error_message="Error establishing a database connection",
        html="<p>Hi,</p><p>our WordPress site only shows:</p><blockquote><b>Error establishing a database "
        "connection</b></blockquote><p>Please help, classes start in an hour.</p><p>Rachel</p>",
        note="DB server db3 was restarted at 09:40; keep an eye on the other sites on db3.",
        assign_to_admin=True,
    ),
    DemoMail(
        "Jean-Luc Favre",
        "jl.favre@garage-favre.example",
        "fr",
        "support",
        "Transfert de domaine",
        "Bonjour,\n\nJe souhaite transférer garage-favre.example chez vous. Pouvez-vous m'indiquer la marche "
        "à suivre pour le code d'autorisation ?\n\nMeilleures salutations\nJean-Luc Favre",
        status=TicketStatus.WAITING,
        services=("domain",),
        reply="Bonjour, veuillez nous envoyer le code d'autorisation de votre registraire actuel.",
        reply_failed=True,
    ),
    DemoMail(
        "Peter Keller",
        "p.keller@schreinerei-keller.example",
        "de",
        "billing",
        "Rechnung doppelt bezahlt",
        "Guten Tag\n\nIch habe die Rechnung 2026-4711 aus Versehen zweimal bezahlt. Können Sie mir den "
        "Betrag gutschreiben?\n\nGruss Peter Keller",
        status=TicketStatus.RESOLVED,
        services=("billing",),
        reply="Grüezi Herr Keller, wir haben Ihnen den Betrag gutgeschrieben. Freundliche Grüsse",
    ),
    DemoMail(
        "Sandra Meier",
        "sandra@meier-treuhand.example",
        "de",
        "support",
        "Rückruf",
        "Bitte rufen Sie mich zurück. 079 123 45 67\n\nSandra Meier",
        asked=("request_problem_description",),
        callback_number="+41791234567",
    ),
    DemoMail(
        "Tom Baker",
        "tom@bakerdesign.example",
        "en",
        "support",
        "FTP login fails",
        "Hello,\n\nFileZilla says:\n\n530 Login incorrect.\n\nI reset the password in the control panel "
        "twice.\n\nTom",
        status=TicketStatus.OPEN,
        services=("ftp",),
    ),
    DemoMail(
        "Claire Dubois",
        "claire.dubois@atelier-dubois.example",
        "fr",
        "support",
        "Sauvegarde",
        "Bonjour,\n\nEst-ce possible de restaurer la sauvegarde d'hier de mon site ? J'ai effacé des pages "
        "par erreur.\n\nMerci d'avance\nClaire",
        status=TicketStatus.CLOSED,
        services=("backup", "website"),
        reply="Bonjour, la sauvegarde d'hier est restaurée. Meilleures salutations",
    ),
    DemoMail(
        "Urs Brunner",
        "urs@brunner-bau.example",
        "de",
        "emergency",
        "E-Mail geht nicht",
        "E-Mail geht nicht",
        services=("email",),
        asked=("request_error_message",),
        needs_review=True,
    ),
]


def demo_admin_create(*, username: str, password: str) -> None:
    """Create (or reset) a superuser in the admins group with this password."""
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username=username, defaults={"email": f"{username}@hosting.example"}
    )
    user.is_staff = True
    user.is_superuser = True
    user.set_password(password)
    user.save()
    admins = Group.objects.filter(name="admins").first()
    if admins is not None:
        user.groups.add(admins)


@transaction.atomic
def demo_data_load() -> int:
    """Create the demo tickets that do not exist yet; return how many were created."""
    created = 0
    for mail in DEMO_MAILS:
        if Ticket.objects.filter(subject=mail.subject, customer__emails__address=mail.address).exists():
            continue
        _demo_ticket(mail)
        created += 1
    _demo_quarantined_mail()
    return created


def _demo_ticket(mail: DemoMail) -> Ticket:
    customer = services.customer_get_or_create(address=mail.address, name=mail.name, language=mail.language)
    ticket = services.ticket_open(
        customer=customer,
        queue=selectors.queue_get(slug=mail.queue),
        message=services.MessageData(
            from_name=mail.name,
            from_address=mail.address,
            to=[f"{mail.queue}@hosting.example"],
            subject=mail.subject,
            text=mail.body,
            reply_text=mail.body,
            html=mail.html,
        ),
    )
    first = ticket.messages.get()
    if mail.services:
        services.ticket_set_services(
            ticket=ticket, services=dict.fromkeys(mail.services, 0.91), source="model"
        )
    _demo_triage(ticket, first, mail)
    _demo_acknowledgement(ticket, first, mail)
    if mail.reply:
        _demo_reply(ticket, mail)
    if mail.note:
        services.ticket_add_note(ticket=ticket, author=_demo_admin(), text=mail.note)
    if mail.assign_to_admin:
        services.ticket_assign(ticket=ticket, assignee=_demo_admin())
    services.ticket_set_status(ticket=ticket, status=mail.status)
    return ticket


def _demo_admin() -> User | None:
    return User.objects.filter(is_superuser=True).order_by("pk").first()


def _demo_triage(ticket: Ticket, message: Message, mail: DemoMail) -> None:
    """Record a triage run and its findings as the classifier would have stored them."""
    confidence = {slug: 0.91 for slug in mail.services}
    confidence.setdefault("controlpanel", 0.12)
    TriageRun.objects.create(
        ticket=ticket,
        message=message,
        model_version="demo",
        result={
            "language": mail.language,
            "services": list(mail.services),
            "problem_report": mail.queue != "billing",
            "has_error_message": bool(mail.error_message),
            "has_problem_description": "request_problem_description" not in mail.asked,
            "callback_requested": bool(mail.callback_number),
            "callback_number": mail.callback_number or None,
            "confidence": confidence,
            "error_message": mail.error_message or None,
        },
        actions=list(mail.asked),
    )
    services.ticket_record_triage(
        ticket=ticket,
        fields=services.TriageFields(
            language=mail.language,
            missing_error_message="request_error_message" in mail.asked,
            missing_problem_description="request_problem_description" in mail.asked,
            missing_callback_number="request_callback_number" in mail.asked,
            callback_requested=bool(mail.callback_number),
            callback_number=mail.callback_number,
            error_message=mail.error_message,
            needs_review=mail.needs_review,
        ),
    )


def _demo_outbox(
    ticket: Ticket, mail: DemoMail, *, kind: str, text: str, automatic: bool, failed: bool = False
) -> None:
    """Store a mail we sent (or failed to send): its copy in the conversation and its outbox row."""
    sender = f"{mail.queue}@hosting.example"
    subject = f"{ticket.subject_tag} Re: {mail.subject}"
    message_id = f"<demo-{ticket.reference}-{kind}@hosting.example>"
    stored = services.message_add(
        ticket=ticket,
        author=None if automatic else _demo_admin(),
        message=services.MessageData(
            direction=Direction.OUT,
            kind=MessageKind.AUTO_REPLY if automatic else MessageKind.AGENT_REPLY,
            from_address=sender,
            to=[mail.address],
            subject=subject,
            message_id=message_id,
            text=text,
            reply_text=text,
        ),
    )
    OutboxMail.objects.create(
        ticket=ticket,
        ticket_message=stored,
        kind=kind,
        automatic=automatic,
        from_address=sender,
        reply_to=sender,
        recipient=mail.address.lower(),
        to=[mail.address],
        subject=subject,
        text=text,
        message_id=message_id,
        language=mail.language,
        requested=list(mail.asked) if automatic else [],
        status=OutboxStatus.FAILED if failed else OutboxStatus.SENT,
        attempts=1,
        last_error="SMTP 550: b'5.1.1 mailbox unavailable'" if failed else "",
        sent_at=None if failed else timezone.now(),
    )


def _demo_acknowledgement(ticket: Ticket, message: Message, mail: DemoMail) -> None:
    asks = {
        "request_error_message": "- the exact error message, copied as text",
        "request_problem_description": "- a short description of what does not work",
        "request_callback_number": "- your phone number for the callback",
    }
    text = f"We have received your message and filed it as {ticket.subject_tag}.\n"
    if mail.asked:
        text += "\nTo help you without further questions we still need:\n" + "\n".join(
            asks[a] for a in mail.asked
        )
    _demo_outbox(ticket, mail, kind=OutboxKind.ACKNOWLEDGEMENT, text=text, automatic=True)


def _demo_reply(ticket: Ticket, mail: DemoMail) -> None:
    _demo_outbox(
        ticket, mail, kind=OutboxKind.AGENT_REPLY, text=mail.reply, automatic=False, failed=mail.reply_failed
    )


DEMO_QUARANTINED = (
    b"From: =?utf-8?q?Broken_Encoding?= <webmaster@kaputt.example>\r\n"
    b"To: support@hosting.example\r\nSubject: =?x-unknown?b?////?=\r\n"
    b"Message-ID: <demo-quarantined@kaputt.example>\r\nContent-Type: multipart/mixed\r\n\r\n"
    b"no boundary, no parts\r\n"
)


def _demo_quarantined_mail() -> None:
    """Keep one mail the bridge could not ingest, so the quarantine and its reprocess action show."""
    mailbox, _ = Mailbox.objects.get_or_create(
        name="demo-support",
        defaults={
            "kind": "support",
            "host": "imap.hosting.example",
            "username": "support",
            "address": "support@hosting.example",
            "enabled": False,
            "last_poll_at": timezone.now() - timedelta(minutes=2),
            "last_poll_ok": True,
        },
    )
    InboundMail.objects.get_or_create(
        mailbox=mailbox,
        message_id="<demo-quarantined@kaputt.example>",
        defaults={
            "sha256": hashlib.sha256(DEMO_QUARANTINED).hexdigest(),
            "size": len(DEMO_QUARANTINED),
            "raw": DEMO_QUARANTINED,
            "status": InboundStatus.QUARANTINED,
            "reason": "multipart/mixed without a boundary: no part to read",
            "attempts": 1,
            "from_address": "webmaster@kaputt.example",
            "subject": "=?x-unknown?b?////?=",
        },
    )
