"""The demo data set of `make run`: customers and tickets in de/en/fr/it in every state, with what triage
found, the automatic mail it sent (the real templates, in the customer's language), agents' replies, notes
and a triage correction, a bounce, an attachment, a merged pair, one agent per queue and a quarantined mail.

Nothing is sent: the demo records each mail as delivered (or refused) as the outbox would after sending.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from helpdesk import selectors, services
from helpdesk.models import Direction, Message, Queue, Ticket, TicketStatus
from mailbridge import outgoing
from mailbridge import services as mailbridge_services
from mailbridge.models import InboundMail, InboundStatus, Mailbox, OutboxMail, OutboxStatus
from triage.models import TriageRun

# One agent per queue: (username, first name, last name, queue).
DEMO_AGENTS = [
    ("agent-support", "Sara", "Brunner", "support"),
    ("agent-emergency", "Emil", "Rossi", "emergency"),
    ("agent-billing", "Berta", "Favre", "billing"),
]
DEMO_MAILBOXES = [("demo-support", "support"), ("demo-emergency", "emergency")]


@dataclass(frozen=True)
class DemoMail:
    name: str
    address: str
    language: str
    queue: str
    subject: str
    body: str
    # None: as the automatic answer left it (waiting when it asked for something, else new).
    status: str | None = None
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
    assign: bool = False
    attachment: tuple[str, str, bytes] | None = None
    # The acknowledgement came back: the customer's server refused it with this status and reason.
    bounce: tuple[str, str] | None = None
    # An agent's correction of the services triage tagged.
    corrected_services: tuple[str, ...] = ()
    # The customer's answer to the acknowledgement, and what triage found still missing in it.
    follow_up: str = ""
    follow_up_asked: tuple[str, ...] = ()
    # The subject of the same customer's earlier ticket that an agent merged this one into.
    merge_into: str = ""


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
        assign=True,
    ),
    DemoMail(
        "Rachel Owens",
        "rachel@greenleaf-yoga.example",
        "en",
        "emergency",
        "Still down?",
        "Hi again,\n\nis anyone looking at this? The site still shows the database error.\n\nRachel",
        services=("website", "database"),
        error_message="Error establishing a database connection",
        merge_into="Site down!!",
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
        error_message="530 Login incorrect.",
        corrected_services=("controlpanel", "ftp"),
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
        bounce=("5.2.2", "552 5.2.2 <urs@brunner-bau.example>: Mailbox full"),
    ),
    DemoMail(
        "Luca Bernasconi",
        "luca@ristorante-bernasconi.example",
        "it",
        "support",
        "Il sito mostra un errore",
        "Buongiorno,\n\nda stamattina il sito del ristorante mostra solo una pagina bianca. In allegato il "
        "log degli errori.\n\nCordiali saluti\nLuca Bernasconi",
        services=("website",),
        error_message="PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted",
        attachment=(
            "error_log.txt",
            "text/plain",
            b"[26-Nov-2026 08:12:01 Europe/Zurich] PHP Fatal error:  Allowed memory size of 134217728 bytes "
            b"exhausted (tried to allocate 20480 bytes) in /home/bernasconi/public_html/wp-includes/"
            b"class-wpdb.php on line 2349\n",
        ),
    ),
    DemoMail(
        "Beat Schneider",
        "beat@schneider-elektro.example",
        "de",
        "support",
        "Backup lässt sich nicht wiederherstellen",
        "Grüezi\n\nIch möchte im Control Panel das Backup von gestern zurückspielen, aber die "
        "Wiederherstellung bricht jedes Mal ab.\n\nFreundliche Grüsse\nBeat Schneider",
        services=("backup", "controlpanel"),
        follow_up="Grüezi\n\nIch habe es nochmals versucht, es geht immer noch nicht.\n\nBeat Schneider",
        follow_up_asked=("request_error_message",),
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


def demo_agents_create(*, password: str) -> list[str]:
    """Create (or reset) one agent per queue with this password; return their usernames."""
    agents = Group.objects.get(name="agents")
    # One hash for all: hashing is slow on purpose, and the demo logins share the password anyway.
    hashed = make_password(password)
    for username, first_name, last_name, queue in DEMO_AGENTS:
        user, _ = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@hosting.example",
            },
        )
        user.is_staff = True
        user.password = hashed
        user.save()
        user.groups.add(agents)
        selectors.queue_get(slug=queue).members.add(user)
    return [username for username, *_ in DEMO_AGENTS]


@transaction.atomic
def demo_data_load() -> int:
    """Create the demo tickets that do not exist yet; return how many were created."""
    _demo_mailboxes()
    created = 0
    for mail in DEMO_MAILS:
        if Ticket.objects.filter(subject=mail.subject, customer__emails__address=mail.address).exists():
            continue
        _demo_ticket(mail)
        created += 1
    _demo_quarantined_mail()
    return created


def _demo_mailboxes() -> None:
    for name, kind in DEMO_MAILBOXES:
        Mailbox.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "host": "imap.hosting.example",
                "username": kind,
                "address": f"{kind}@hosting.example",
                # Nothing to poll: the demo's mail is already in.
                "enabled": False,
                "last_poll_at": timezone.now() - timedelta(minutes=2),
                "last_poll_ok": True,
            },
        )


def _demo_agent(queue: Queue) -> User | None:
    return queue.members.filter(username__in=[username for username, *_ in DEMO_AGENTS]).first()


def _demo_ticket(mail: DemoMail) -> Ticket:
    customer = services.customer_get_or_create(address=mail.address, name=mail.name, language=mail.language)
    attachments = [services.AttachmentData(*mail.attachment)] if mail.attachment else []
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
            attachments=attachments,
        ),
    )
    first = ticket.messages.get()
    if mail.services:
        services.ticket_set_services(
            ticket=ticket, services=dict.fromkeys(mail.services, 0.91), source="model"
        )
    _demo_triage(ticket, first, mail, asked=mail.asked)
    ack = _delivered(
        outgoing.ticket_auto_respond(ticket=ticket, message=first, actions=list(mail.asked), new_ticket=True)
    )
    if mail.bounce and ack is not None:
        _demo_bounce(ack, status=mail.bounce[0], reason=mail.bounce[1])
    if mail.follow_up:
        _demo_follow_up(ticket, mail)
    _demo_agent_work(ticket, mail)
    if mail.status is not None:
        services.ticket_set_status(ticket=ticket, status=mail.status)
    if mail.merge_into:
        target = Ticket.objects.get(subject=mail.merge_into, customer=customer)
        services.ticket_merge(source=ticket, target=target, actor=_demo_agent(ticket.queue))
    return ticket


def _demo_agent_work(ticket: Ticket, mail: DemoMail) -> None:
    agent = _demo_agent(ticket.queue)
    if mail.reply:
        reply = outgoing.agent_reply_send(ticket=ticket, author=agent, text=mail.reply)
        _delivered(reply, error="SMTP 550: b'5.1.1 mailbox unavailable'" if mail.reply_failed else "")
    if mail.note:
        services.ticket_add_note(ticket=ticket, author=agent, text=mail.note)
    if mail.assign:
        services.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
    if mail.corrected_services:
        # triage.services loads the classifier stack: only when a ticket is corrected (the first run).
        triage_services = importlib.import_module("triage.services")
        triage_services.ticket_correct_services(
            ticket=ticket, services=list(mail.corrected_services), agent=agent
        )


def _delivered(outbox: OutboxMail | None, *, error: str = "") -> OutboxMail | None:
    """Record a queued demo mail as sent, or as refused by the server: the demo sends nothing."""
    if outbox is None:
        return None
    outbox.status = OutboxStatus.FAILED if error else OutboxStatus.SENT
    outbox.attempts = 1
    outbox.last_error = error
    outbox.sent_at = None if error else timezone.now()
    # Before the commit: the send task that the commit starts then finds the mail done.
    outbox.save(update_fields=["status", "attempts", "last_error", "sent_at"])
    return outbox


def _demo_triage(ticket: Ticket, message: Message, mail: DemoMail, *, asked: tuple[str, ...]) -> None:
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
            "has_problem_description": "request_problem_description" not in asked,
            "callback_requested": bool(mail.callback_number),
            "callback_number": mail.callback_number or None,
            "confidence": confidence,
            "error_message": mail.error_message or None,
        },
        actions=list(asked),
    )
    services.ticket_record_triage(
        ticket=ticket,
        fields=services.TriageFields(
            language=mail.language,
            missing_error_message="request_error_message" in asked,
            missing_problem_description="request_problem_description" in asked,
            missing_callback_number="request_callback_number" in asked,
            callback_requested=bool(mail.callback_number),
            callback_number=mail.callback_number,
            error_message=mail.error_message,
            needs_review=mail.needs_review,
        ),
    )


def _demo_follow_up(ticket: Ticket, mail: DemoMail) -> None:
    """The customer answers, still without what is needed: triage finds it missing and asks for it."""
    last_ours = ticket.messages.filter(direction=Direction.OUT).order_by("-created_at").first()
    answer = services.message_add(
        ticket=ticket,
        message=services.MessageData(
            from_name=mail.name,
            from_address=mail.address,
            to=[f"{mail.queue}@hosting.example"],
            subject=f"Re: {ticket.subject_tag} {mail.subject}",
            in_reply_to=last_ours.message_id if last_ours is not None else "",
            text=mail.follow_up,
            reply_text=mail.follow_up,
        ),
    )
    _demo_triage(ticket, answer, mail, asked=mail.follow_up_asked)
    ticket.refresh_from_db()
    _delivered(
        outgoing.ticket_auto_respond(
            ticket=ticket, message=answer, actions=list(mail.follow_up_asked), new_ticket=False
        )
    )


def _demo_bounce(ack: OutboxMail, *, status: str, reason: str) -> None:
    """The customer's server returns our acknowledgement: the bounce arrives like any mail (RFC 3464)."""
    mailbox = Mailbox.objects.filter(address=ack.from_address).order_by("pk").first()
    if mailbox is None:
        return
    report = (
        f"Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.hosting.example>\r\n"
        f"To: {ack.from_address}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <demo-bounce-{ack.pk}@mx.hosting.example>\r\nAuto-Submitted: auto-replied\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"\r\n\r\n'
        f"--dsn\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"This is the mail system at host mx.hosting.example.\r\n\r\n<{ack.recipient}>: {reason}\r\n"
        f"--dsn\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.hosting.example\r\n\r\n"
        f"Final-Recipient: rfc822; {ack.recipient}\r\nAction: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {reason}\r\n"
        f"--dsn\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {ack.from_address}\r\nTo: {ack.recipient}\r\nMessage-ID: {ack.message_id}\r\n"
        f"--dsn--\r\n"
    )
    list(mailbridge_services.mail_import(mailbox=mailbox, raws=[report.encode("ascii")]))


DEMO_QUARANTINED = (
    b"From: =?utf-8?q?Broken_Encoding?= <webmaster@kaputt.example>\r\n"
    b"To: support@hosting.example\r\nSubject: =?x-unknown?b?////?=\r\n"
    b"Message-ID: <demo-quarantined@kaputt.example>\r\nContent-Type: multipart/mixed\r\n\r\n"
    b"no boundary, no parts\r\n"
)


def _demo_quarantined_mail() -> None:
    """Keep one mail the bridge could not ingest, so the quarantine and its reprocess action show."""
    InboundMail.objects.get_or_create(
        mailbox=Mailbox.objects.get(name="demo-support"),
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
