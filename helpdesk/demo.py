"""The demo data set of `make run`: a few customers and tickets in de/en/fr, built through the services."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from helpdesk import selectors, services
from helpdesk.models import Direction, MessageKind, Ticket, TicketStatus


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


DEMO_MAILS = [
    DemoMail(
        "Monika Huber",
        "monika.huber@baeckerei-huber.example",
        "de",
        "support",
        "Mails kommen nicht an",
        "Grüezi\n\nSeit gestern kommen bei info@baeckerei-huber.example keine Mails mehr an.\n"
        "Versenden geht normal.\n\nFreundliche Grüsse\nMonika Huber",
        services=("email",),
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
        ),
    )
    if mail.services:
        services.ticket_set_services(ticket=ticket, services=mail.services)
    if mail.reply:
        services.message_add(
            ticket=ticket,
            message=services.MessageData(
                direction=Direction.OUT,
                kind=MessageKind.AGENT_REPLY,
                from_address=f"{mail.queue}@hosting.example",
                to=[mail.address],
                subject=f"Re: {ticket.subject_tag} {mail.subject}",
                text=mail.reply,
            ),
        )
    services.ticket_set_status(ticket=ticket, status=mail.status)
    return ticket
