"""Reply templates: seeded from the former files, edited in the admin, offered on the ticket page."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from helpdesk import selectors, services
from helpdesk.models import CannedReply, Queue, Ticket
from mailbridge.models import OutboxMail
from tests.factories import CustomerFactory, open_ticket

pytestmark = pytest.mark.django_db
KEYS = {"ask_error_message", "outage", "outage_over", "callback", "solved"}


def staff(username: str, group: str, *queues: str, **fields: str) -> User:
    user = User.objects.create_user(username=username, is_staff=True, **fields)
    user.groups.add(Group.objects.get(name=group))
    for slug in queues:
        Queue.objects.get(slug=slug).members.add(user)
    return user


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def agent() -> User:
    return staff("anna", "agents", "support", first_name="Anna", last_name="Muster")


@pytest.fixture
def manager() -> User:
    return staff("martin", "managers")


def ticket_of(customer_language: str, name: str = "Claire Dubois", **ticket_fields: object) -> Ticket:
    customer = CustomerFactory.create(language=customer_language, name=name)
    ticket = open_ticket(customer=customer, subject="Site en panne")
    for field, value in ticket_fields.items():
        setattr(ticket, field, value)
    ticket.save()
    return ticket


def page(client: Client, ticket: Ticket, **query: str):
    return client.get(f"/admin/helpdesk/ticket/{ticket.pk}/change/", query)


def offered(html: str) -> dict[str, str]:
    """Return the reply form's template choices, key -> title."""
    select = re.search(r'<select name="canned" id="id_canned">(.*?)</select>', html, re.S)
    assert select is not None
    return dict(re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', select.group(1)))


def script_texts(html: str) -> dict[str, list[dict[str, str]]]:
    match = re.search(r'<script id="hd-canned-replies" type="application/json">(.*?)</script>', html, re.S)
    assert match is not None
    return json.loads(match.group(1))


# --- the seed -------------------------------------------------------------------------------------


def test_the_five_former_replies_are_seeded_in_four_languages():
    rows = CannedReply.objects.all()
    assert {(r.key, r.language) for r in rows} == {
        (k, lang) for k in KEYS for lang in ("de", "en", "fr", "it")
    }
    german = CannedReply.objects.get(key="ask_error_message", language="de")
    assert german.title == "Nach der genauen Fehlermeldung fragen"
    assert "genaue Fehlermeldung" in german.body
    assert "ß" not in "".join(r.body + r.title for r in rows.filter(language="de"))  # Swiss spelling
    assert "autoescape" not in "".join(r.body for r in rows)


def test_the_seeded_group_permissions():
    managers = set(Group.objects.get(name="managers").permissions.values_list("codename", flat=True))
    agents = set(Group.objects.get(name="agents").permissions.values_list("codename", flat=True))
    assert {"add_cannedreply", "change_cannedreply", "delete_cannedreply", "view_cannedreply"} <= managers
    assert "view_cannedreply" in agents
    assert not {"add_cannedreply", "change_cannedreply", "delete_cannedreply"} & agents
    admins = Group.objects.get(name="admins").permissions.values_list("codename", flat=True)
    assert "change_cannedreply" in admins


# --- selectors ------------------------------------------------------------------------------------


def test_list_for_a_language_falls_back_to_the_desk_language_per_key(settings):
    # Given a reply written in German (the desk's language) only, and the seeded ones
    settings.HELPDESK_DEFAULT_LANGUAGE = "de"
    CannedReply.objects.create(key="dns_wait", language="de", title="DNS braucht Zeit", body="Bitte warten.")
    # When the replies for a French answer are listed
    replies = selectors.canned_reply_list_for(language="fr")
    # Then every key is there once: in French where written, in German otherwise
    by_key = {r.key: r.language for r in replies}
    assert by_key == {**dict.fromkeys(KEYS, "fr"), "dns_wait": "de"}
    assert [r.title for r in replies] == sorted((r.title for r in replies), key=str.casefold)


def test_get_prefers_the_language_and_knows_no_stranger():
    assert selectors.canned_reply_get(key="solved", language="it").language == "it"
    assert selectors.canned_reply_get(key="solved", language="xx").language == "de"
    assert selectors.canned_reply_get(key="no_such_reply", language="de") is None


def test_reply_language_is_the_tickets_then_the_customers_then_the_desks(settings):
    settings.HELPDESK_DEFAULT_LANGUAGE = "de"
    assert selectors.canned_reply_language(ticket=ticket_of("fr", language="it")) == "it"
    assert selectors.canned_reply_language(ticket=ticket_of("fr", language="")) == "fr"
    assert selectors.canned_reply_language(ticket=ticket_of("", language="")) == "de"


def test_render_fills_in_the_placeholders():
    # Given a template using every placeholder
    reply = CannedReply(
        key="k",
        language="en",
        title="t",
        body="Hello{% if name %} {{ name }}{% endif %}, about {{ reference }} ({{ subject }}): "
        "we call {{ callback_number }}. <b>{{ agent }}</b>",
    )
    ticket = ticket_of("en", name="O'Brien & Co", callback_number="+41791234567")
    # When it is rendered for the ticket
    text = selectors.canned_reply_render(reply=reply, ticket=ticket, agent_name="Anna")
    # Then the values stand in plain text, unescaped (the textarea escapes them)
    assert text == (
        f"Hello O'Brien & Co, about {ticket.reference} (Site en panne): we call +41791234567. <b>Anna</b>\n"
    )


def test_render_of_a_broken_template_offers_its_text_as_it_stands():
    reply = CannedReply(key="k", language="en", title="t", body="Hello {% if name %}")
    text = selectors.canned_reply_render(reply=reply, ticket=ticket_of("en"), agent_name="Anna")
    assert text == "Hello {% if name %}\n"


# --- the admin ------------------------------------------------------------------------------------


def test_agents_may_view_but_not_edit_reply_templates(agent):
    reply = CannedReply.objects.get(key="solved", language="de")
    client = logged_in(agent)
    # Given an agent, When they open the templates, Then they see them
    assert client.get("/admin/helpdesk/cannedreply/").status_code == 200
    assert client.get(f"/admin/helpdesk/cannedreply/{reply.pk}/change/").status_code == 200
    # But they may neither add, change nor delete one
    data = {"key": "solved", "language": "de", "title": "Geändert", "body": "x"}
    assert client.get("/admin/helpdesk/cannedreply/add/").status_code == 403
    assert client.post(f"/admin/helpdesk/cannedreply/{reply.pk}/change/", data).status_code == 403
    assert client.post(f"/admin/helpdesk/cannedreply/{reply.pk}/delete/", {"post": "yes"}).status_code == 403
    reply.refresh_from_db()
    assert reply.title == "Gelöst: bitte bestätigen"


def test_managers_add_and_change_reply_templates(manager):
    client = logged_in(manager)
    data = {"key": "dns_wait", "language": "de", "title": "DNS braucht Zeit", "body": "Grüezi {{ name }}"}
    assert client.post("/admin/helpdesk/cannedreply/add/", data).status_code == 302
    added = CannedReply.objects.get(key="dns_wait")
    data["title"] = "DNS: bis 24 Stunden"
    assert client.post(f"/admin/helpdesk/cannedreply/{added.pk}/change/", data).status_code == 302
    added.refresh_from_db()
    assert added.title == "DNS: bis 24 Stunden"


@pytest.mark.parametrize(
    "body", ["Grüezi {% if name %}", '{% include "admin/base.html" %}', "{% load i18n %}"]
)
def test_the_admin_refuses_a_template_that_would_not_render(manager, body):
    data = {"key": "broken", "language": "de", "title": "Kaputt", "body": body}
    response = logged_in(manager).post("/admin/helpdesk/cannedreply/add/", data)
    assert response.status_code == 200
    assert "This text is not a valid template" in response.text
    assert not CannedReply.objects.filter(key="broken").exists()


def test_a_duplicate_key_and_language_is_refused(manager):
    data = {"key": "solved", "language": "fr", "title": "Encore", "body": "x"}
    response = logged_in(manager).post("/admin/helpdesk/cannedreply/add/", data)
    assert response.status_code == 200
    assert CannedReply.objects.filter(key="solved", language="fr").count() == 1


# --- the ticket page ------------------------------------------------------------------------------


def test_the_reply_form_offers_the_templates_in_the_customers_language(agent):
    # Given a French customer's ticket
    ticket = ticket_of("fr")
    # When the agent opens it
    html = page(logged_in(agent), ticket).text
    # Then the reply form offers the French templates, French preselected, and the script is loaded
    assert offered(html)["ask_error_message"] == "Demander le message d’erreur exact"
    assert set(offered(html)) == KEYS
    assert re.search(r'<option value="fr" selected>', html)
    assert 'src="/static/helpdesk/canned.js"' in html
    # And the script gets each language's texts, rendered for this ticket and this agent
    french = {r["key"]: r["text"] for r in script_texts(html)["fr"]}
    assert french["ask_error_message"].startswith("Bonjour Claire Dubois\n")
    assert french["ask_error_message"].endswith("Anna Muster\n")
    assert {r["key"] for r in script_texts(html)["it"]} == KEYS


def test_the_reply_form_shows_what_managers_wrote(agent):
    CannedReply.objects.filter(key="solved", language="fr").update(
        title="Résolu (nouveau)", body="Voilà {{ reference }}"
    )
    ticket = ticket_of("fr")
    html = page(logged_in(agent), ticket).text
    assert offered(html)["solved"] == "Résolu (nouveau)"
    assert {r["key"]: r["text"] for r in script_texts(html)["fr"]}["solved"] == f"Voilà {ticket.reference}\n"


def test_a_language_without_a_template_gets_the_desks(agent, settings):
    settings.HELPDESK_DEFAULT_LANGUAGE = "de"
    CannedReply.objects.filter(language="it", key="solved").delete()
    html = page(logged_in(agent), ticket_of("it")).text
    assert offered(html)["solved"] == "Gelöst: bitte bestätigen"
    assert offered(html)["outage"] == "Guasto noto: ci stiamo lavorando"


def test_without_javascript_insert_keeps_the_typed_text_and_sends_nothing(agent):
    # Given a French customer's ticket and an agent who typed a first line and a Cc
    ticket = ticket_of("fr")
    typed = "Merci pour votre patience.\r\n"
    # When they insert a template (the form posts, as without JavaScript)
    response = logged_in(agent).post(
        f"/admin/helpdesk/ticket/{ticket.pk}/reply/",
        {"insert": "1", "canned": "solved", "language": "fr", "text": typed, "cc": "chef@atelier.example"},
    )
    # Then the page comes back with their text, then the template, in the box, and nothing is sent
    assert response.status_code == 200
    box = re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>', response.text, re.S)
    assert box is not None
    assert box.group(1).strip().startswith("Merci pour votre patience.\n\nBonjour Claire Dubois")
    assert "vérifier que tout fonctionne" in box.group(1)
    assert 'value="chef@atelier.example"' in response.text
    assert not OutboxMail.objects.exists()


def test_without_javascript_insert_in_another_language(agent):
    ticket = ticket_of("fr")
    response = logged_in(agent).post(
        f"/admin/helpdesk/ticket/{ticket.pk}/reply/",
        {"insert": "1", "canned": "solved", "language": "de", "text": ""},
    )
    assert "Wir haben das Problem behoben." in response.text
    assert re.search(r'<option value="de" selected>', response.text)


def test_insert_is_refused_on_another_queues_ticket(agent):
    foreign = ticket_of("fr")
    services.ticket_move(ticket=foreign, queue=Queue.objects.get(slug="billing"))
    response = logged_in(agent).post(
        f"/admin/helpdesk/ticket/{foreign.pk}/reply/", {"insert": "1", "canned": "solved", "text": ""}
    )
    assert response.status_code == 403
