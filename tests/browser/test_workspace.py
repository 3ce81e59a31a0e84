"""An agent's day in a real browser: log in, filter, open a ticket, reply, correct a tag, merge."""

from __future__ import annotations

import re

import pytest

from helpdesk import services
from helpdesk.models import Queue
from mailbridge.models import OutboxMail
from tests.browser.conftest import agent_user, log_in, screenshot
from tests.factories import CustomerFactory, open_ticket
from triage.models import Correction, TriageRun

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.integration]


def triaged_ticket(subject: str, text: str, customer=None):
    ticket = open_ticket(customer=customer, subject=subject, text=text, reply_text=text)
    services.ticket_set_services(ticket=ticket, services={"email": 0.71}, source="model")
    TriageRun.objects.create(
        ticket=ticket,
        message=ticket.messages.get(),
        model_version="browser-test",
        result={"services": ["email"], "confidence": {"email": 0.71, "website": 0.4}},
        actions=["request_error_message"],
    )
    return ticket


def test_agent_filters_opens_replies_corrects_and_merges(page, live_server):
    # Given an agent of the support queue, two tickets of one customer, and one ticket of another queue
    agent = agent_user("anna", "support")
    customer = CustomerFactory(name="Monika Huber", language="de")
    first = triaged_ticket(
        "Website zeigt Fehler 500", "Seit heute zeigt die Website nur Fehler 500.", customer
    )
    second = triaged_ticket("Nochmals: Website", "Immer noch Fehler 500.", customer)
    services.ticket_assign(ticket=second, assignee=agent)
    foreign = open_ticket(subject="Rechnung doppelt bezahlt")
    services.ticket_move(ticket=foreign, queue=Queue.objects.get(slug="billing"))

    # When the agent logs in, Then the list shows the queue's tickets only
    log_in(page, live_server, agent)
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    assert foreign.reference not in page.content()
    screenshot(page, "01-ticket-list")

    # When they filter on "Assigned to me", Then only the assigned ticket is left
    page.click("#changelist-filter >> text=Assigned to me")
    page.wait_for_url(re.compile(r"work=mine"))
    assert rows.count() == 1
    assert second.reference in rows.first.inner_text()
    screenshot(page, "02-ticket-list-assigned-to-me")

    # When they open the other ticket from the full list
    page.goto(f"{live_server.url}/admin/helpdesk/ticket/")
    page.click(f"text={first.reference}")
    page.wait_for_selector("#conversation")
    assert "Seit heute zeigt die Website nur Fehler 500." in page.inner_text(".hd-main")
    assert "71" in page.inner_text("#triage")
    screenshot(page, "03-ticket-page")

    # ... and reply from a canned text, Then the reply is queued and shown in the conversation
    page.select_option("#id_canned", "ask_error_message")
    page.click(".hd-canned button")
    page.wait_for_function("document.querySelector('#reply-form textarea').value.includes('Fehlermeldung')")
    page.fill("#reply-form textarea", "Grüezi Frau Huber\n\nBitte senden Sie uns die genaue Fehlermeldung.")
    page.click("#reply-form button.default")
    page.wait_for_selector("text=Reply queued for sending.")
    assert "Bitte senden Sie uns die genaue Fehlermeldung." in page.inner_text(".hd-main")
    reply = OutboxMail.objects.get(ticket=first, automatic=False)
    assert reply.ticket_message.author == agent

    # When they correct the tag from email to website, Then the correction is kept for training
    page.uncheck("#correct-form input[value=email]")
    page.check("#correct-form input[value=website]")
    page.click("#correct-form button[type=submit]")
    page.wait_for_selector("text=Triage corrected")
    correction = Correction.objects.get(ticket=first, field="services")
    assert (correction.predicted, correction.corrected) == (
        {"services": ["email"]},
        {"services": ["website"]},
    )
    screenshot(page, "04-ticket-page-after-reply-and-correction")

    # When they merge it into the customer's other ticket, Then they land on that ticket, with both mails
    page.fill("#merge-form input[name=target]", second.reference)
    page.click("#merge-form button[type=submit]")
    page.wait_for_url(f"**/admin/helpdesk/ticket/{second.pk}/change/")
    first.refresh_from_db()
    assert first.merged_into == second
    assert "Seit heute zeigt die Website nur Fehler 500." in page.inner_text(".hd-main")
    screenshot(page, "05-merged-ticket")


def test_reply_template_goes_where_the_agent_types_without_reloading(page, live_server):
    # Given a French customer's ticket, and an agent who typed the start of a reply
    agent = agent_user("dora", "support")
    ticket = open_ticket(
        customer=CustomerFactory(name="Claire Dubois", language="fr"), subject="Site en panne"
    )
    log_in(page, live_server, agent)
    page.goto(f"{live_server.url}/admin/helpdesk/ticket/{ticket.pk}/change/")
    page.evaluate("window.hdStillHere = true")
    page.fill("#reply-form textarea", "Merci pour votre patience.")
    # When they insert the French template offered first for this customer
    assert page.input_value("#id_canned_language") == "fr"
    page.select_option("#id_canned", "solved")
    page.click("#canned-insert")
    # Then it follows their text in the box, and the page did not reload
    text = page.input_value("#reply-form textarea")
    assert text.startswith("Merci pour votre patience.\n\nBonjour Claire Dubois\n")
    assert page.evaluate("window.hdStillHere") is True
    # When they switch to German, Then the titles and the inserted text are German
    page.select_option("#id_canned_language", "de")
    assert "Gelöst: bitte bestätigen" in page.inner_text("#id_canned")
    page.select_option("#id_canned", "outage_over")
    page.click("#canned-insert")
    assert "Die Störung ist behoben." in page.input_value("#reply-form textarea")
    assert page.input_value("#reply-form textarea").startswith("Merci pour votre patience.")
    screenshot(page, "09-reply-template-inserted")
    assert not OutboxMail.objects.exists()


def test_agent_is_refused_another_queues_ticket(page, live_server):
    agent = agent_user("bruno", "support")
    foreign = open_ticket(subject="Rechnung")
    services.ticket_move(ticket=foreign, queue=Queue.objects.get(slug="billing"))
    log_in(page, live_server, agent)
    response = page.goto(f"{live_server.url}/admin/helpdesk/ticket/{foreign.pk}/change/")
    assert response.status == 403


def test_interface_in_german(page, live_server, compiled_locale):
    agent = agent_user("carla", "support")
    open_ticket(subject="Mail geht nicht")
    log_in(page, live_server, agent)
    page.select_option("#hd-language-form select", "de")
    page.click("#hd-language-form button")
    page.wait_for_selector("text=Mir zugewiesen")
    screenshot(page, "06-ticket-list-german")
