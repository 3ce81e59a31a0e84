"""Hostile mail in the ticket page: nothing in it runs, loads anything or reaches the admin around it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from helpdesk import services
from helpdesk.models import Message
from tests.browser.conftest import agent_user, log_in, screenshot
from tests.factories import open_ticket

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.integration]


class Tracker(BaseHTTPRequestHandler):
    """Answers anything, with something that would run if it were ever loaded, and counts the hits."""

    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b"<script>window.top.pwned = 'tracker'</script>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def tracker() -> Iterator[str]:
    Tracker.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Tracker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def hostile_html(base: str) -> str:
    return f"""
<html><head><base href="{base}/base/"><meta http-equiv="refresh" content="0;url={base}/refresh">
<link rel="stylesheet" href="{base}/link.css"><script src="{base}/script.js"></script>
<style>@import url("{base}/import.css"); body {{ background: url({base}/bg.png) }}
 #header, #content {{ display: none !important }}
 @font-face {{ font-family: x; src: url({base}/font.woff) }}</style>
</head><body onload="window.top.pwned = 'onload'">
<p>Guten Tag, meine Seite ist gehackt.</p>
<script>window.pwned = 'script'; window.top.pwned = 'script'; fetch('{base}/fetch');</script>
<img src="{base}/pixel.gif" onerror="window.top.pwned = 'onerror'">
<img src="x" onerror="window.top.pwned = 'onerror2'" srcset="{base}/srcset.png 2x">
<a id="js-link" href="javascript:window.top.pwned = 'js-link'">Klicken Sie hier</a>
<a href="{base}/link">normal link</a>
<div style="background-image: url({base}/style-attr.png)">styled</div>
<svg onload="window.top.pwned = 'svg'"><image href="{base}/svg-image.png"/></svg>
<iframe src="{base}/iframe"></iframe><object data="{base}/object"></object><embed src="{base}/embed">
<video src="{base}/video.mp4" poster="{base}/poster.png" autoplay></video>
<audio src="{base}/audio.mp3" autoplay></audio>
<form action="{base}/form"><input name="q" autofocus onfocus="window.top.pwned = 'onfocus'"></form>
<details open ontoggle="window.top.pwned = 'ontoggle'"><summary>x</summary></details>
<math><mtext><table><mglyph><style><img src=x onerror="window.top.pwned = 'mxss'">
</style></mglyph></table></mtext></math>
<noscript><p title="</noscript><img src=x onerror=window.top.pwned='noscript'>"></noscript>
</body></html>"""


def test_nothing_in_a_hostile_mail_runs_or_loads(page, live_server, tracker):
    # Given a ticket whose customer mail carries every trick, in the subject and name as well, with HTML
    # and SVG attachments, and a second message whose stored HTML never went through the sanitiser
    agent = agent_user("anna", "support")
    hostile = hostile_html(tracker)
    ticket = open_ticket(
        subject="<script>window.top.pwned = 'subject'</script>Website gehackt",
        from_name="<img src=x onerror=\"window.top.pwned = 'name'\">",
        text=f"Siehe <script>window.top.pwned = 'text'</script> javascript:alert(1) {tracker}/in-text",
        reply_text="<b onmouseover=\"window.top.pwned = 'reply'\">Hilfe</b>",
        html=hostile,
        attachments=[
            services.AttachmentData("rechnung.html", "text/html", hostile.encode()),
            services.AttachmentData(
                "logo.svg", "image/svg+xml", f"<svg onload=\"fetch('{tracker}/svg')\"/>".encode()
            ),
        ],
    )
    raw = services.message_add(ticket=ticket, message=services.MessageData(subject="raw", html="<p>x</p>"))
    Message.objects.filter(pk=raw.pk).update(html=hostile)

    # When the agent opens the ticket and lets everything settle
    log_in(page, live_server, agent)
    page.goto(f"{live_server.url}/admin/helpdesk/ticket/{ticket.pk}/change/")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1000)
    frames = page.locator("iframe.hd-html")
    assert frames.count() == 2
    for frame in page.frames[1:]:
        assert "Guten Tag, meine Seite ist gehackt." in frame.content()
    # ... clicks every link inside the mail, and opens both attachments
    for frame in page.frames[1:]:
        for link in frame.locator("a").all():
            link.click(timeout=2000)
    for name in ("rechnung.html", "logo.svg"):
        with page.expect_download() as download:
            page.click(f"a:has-text('{name}')")
        assert download.value.suggested_filename == name
    # ... and even opens the frame's address directly as a page
    frame_url = f"{live_server.url}/admin/helpdesk/ticket/message/{raw.pk}/html/"
    direct = page.context.new_page()
    direct.goto(frame_url)
    direct.wait_for_timeout(500)
    direct_pwned = direct.evaluate("window.pwned")
    direct.close()
    page.wait_for_timeout(1000)
    screenshot(page, "07-hostile-mail")

    # Then no script ran anywhere, nothing was loaded from the mail's server, and the admin kept its look
    assert page.evaluate("window.pwned") is None
    assert direct_pwned is None
    assert Tracker.hits == []
    assert all(url.startswith(live_server.url) or url == "about:blank" for url in page.requests), (
        page.requests
    )
    assert page.locator("#header").is_visible()
    assert page.locator("#content").is_visible()
    assert page.url.endswith(f"/admin/helpdesk/ticket/{ticket.pk}/change/")
    # The subject and sender name appear as text, not as markup
    assert "<script>window.top.pwned = 'subject'</script>Website gehackt" in page.inner_text("#ticket-title")


def test_the_frame_holds_even_if_the_sanitiser_let_everything_through(
    page, live_server, tracker, monkeypatch
):
    # Given a sanitiser that (by a bug) returns the mail's HTML untouched
    monkeypatch.setattr("helpdesk.admin.views.sanitise_html", lambda html: html)
    agent = agent_user("anna", "support")
    ticket = open_ticket(subject="Rohes HTML", html="<p>x</p>")
    Message.objects.filter(ticket=ticket).update(html=hostile_html(tracker))
    # When the agent opens the ticket and clicks the links in the mail
    log_in(page, live_server, agent)
    page.goto(f"{live_server.url}/admin/helpdesk/ticket/{ticket.pk}/change/")
    page.wait_for_load_state("networkidle")
    frame = page.frames[1]
    assert "Guten Tag, meine Seite ist gehackt." in frame.content()
    for link in frame.locator("a").all():
        link.click(timeout=2000)
    page.wait_for_timeout(1500)
    screenshot(page, "08-hostile-mail-unsanitised")
    # Then the sandbox and the CSP alone stop every script and every load
    assert page.evaluate("window.pwned") is None
    assert Tracker.hits == []
    assert page.locator("#header").is_visible()
