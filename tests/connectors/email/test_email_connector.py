"""The e-mail connector against a real SMTP server (aiosmtpd) and real HTTP for the attachments."""

from __future__ import annotations

import http.server
import threading

import pytest

from connectors.base import SourceConfig
from connectors.email.connector import Bounced, EmailConnector, smtp_settings, valid_address
from connectors.errors import Fatal, Malformed, Transient
from connectors.registry import connector_class
from otklik.mail import MailSettings
from otklik.models import Attachment, Platform, Reply, Thread

CITIZEN = "zhitel@example.org"
FILES = {"/files/akt.pdf": (b"%PDF-1.4 act of works", "application/pdf"),
         "/files/photo.jpg": (b"\xff\xd8\xff\xe0 after repair", "image/jpeg")}


class Files(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the stdlib's name
        found = FILES.get(self.path)
        self.send_response(200 if found else (503 if self.path == "/busy" else 404))
        self.send_header("Content-Type", found[1] if found else "text/plain")
        body = found[0] if found else b"no"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def files():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def connector(port: int, **options) -> EmailConnector:
    cfg = SourceConfig(name="mail", platform=Platform.EMAIL,
                       options={"host": "127.0.0.1", "port": port, "sender": "otvet@adm-severny.example",
                                "sender_name": "Администрация Северного", "timeout": 5, **options})
    return EmailConnector(cfg)


def reply(address: str = CITIZEN, urls: list[str] = (), rid: str = "r1") -> Reply:
    return Reply(id=rid, source="mail", platform=Platform.EMAIL, thread=Thread(kind="email", ids={"address": address}),
                 text="Здравствуйте! Дорогу на Лесной отремонтировали, акт и фото во вложении.",
                 attachments=[Attachment(type="doc", url=u) for u in urls])


async def test_the_answer_arrives_with_its_attachments_and_a_message_id_from_the_reply_id(smtp_server, files):
    inbox, port = smtp_server
    c = connector(port)
    delivery = await c.send(reply(urls=[f"{files}/files/akt.pdf", f"{files}/files/photo.jpg"]))
    await c.aclose()
    [got] = inbox.messages
    assert delivery.external_id == got["Message-ID"] == "<reply-r1@adm-severny.example>"
    assert inbox.envelopes == [("otvet@adm-severny.example", [CITIZEN])]  # bounces come back to the sender
    assert got["To"] == CITIZEN and got["Subject"] == "Ответ на ваше обращение"
    assert "отремонтировали" in got.get_body(("plain",)).get_content()
    parts = list(got.iter_attachments())
    assert [(p.get_filename(), p.get_content_type(), p.get_content()) for p in parts] == [
        ("akt.pdf", "application/pdf", FILES["/files/akt.pdf"][0]),
        ("photo.jpg", "image/jpeg", FILES["/files/photo.jpg"][0])]


async def test_dkim_ready_headers_each_once_and_a_retry_is_the_same_letter(smtp_server):
    inbox, port = smtp_server
    c = connector(port, subject="Ответ администрации")
    await c.send(reply(rid="same"))
    await c.send(reply(rid="same"))  # a retry after a crash between DATA and recording
    await c.aclose()
    first, second = inbox.messages
    assert first["Message-ID"] == second["Message-ID"] == "<reply-same@adm-severny.example>"
    for name in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version"):
        assert len(first.get_all(name)) == 1, name
    assert first["From"].addresses[0].addr_spec == "otvet@adm-severny.example"
    assert first["Subject"] == "Ответ администрации"


async def test_a_refused_mailbox_is_a_bounce_without_the_address_in_the_error(smtp_server):
    inbox, port = smtp_server
    inbox.refuse = {"zhitel": "550 5.1.1 mailbox unavailable"}
    c = connector(port)
    with pytest.raises(Bounced) as err:
        await c.send(reply())
    assert isinstance(err.value, Fatal) and err.value.kind == "bounced" and err.value.code == 550
    assert str(err.value).startswith("bounced") and "zhitel" not in str(err.value)
    assert inbox.messages == []


async def test_a_busy_mailbox_is_transient(smtp_server):
    inbox, port = smtp_server
    inbox.refuse = {"zhitel": "451 4.3.0 try again later"}
    with pytest.raises(Transient) as err:
        await connector(port).send(reply())
    assert err.value.code == 451


async def test_attachments_gone_fail_the_delivery_busy_ones_are_retried(smtp_server, files):
    inbox, port = smtp_server
    with pytest.raises(Fatal):
        await connector(port).send(reply(urls=[f"{files}/files/missing.pdf"]))
    with pytest.raises(Transient):
        await connector(port).send(reply(urls=[f"{files}/busy"]))
    assert inbox.messages == []  # never without its photos


async def test_a_reply_without_a_usable_address_is_fatal(smtp_server):
    _, port = smtp_server
    for bad in ("", "not-an-address", "a@b.ru\r\nBcc: x@y.ru", "Имя <a@b.ru>", "a@b.ru, c@d.ru"):
        with pytest.raises(Fatal):
            await connector(port).send(reply(address=bad))


def test_valid_address_takes_one_plain_address_only():
    assert valid_address(" Ivanov.I@mail.example.ru ") == "Ivanov.I@mail.example.ru"
    for bad in ("x", "x@", "@y.ru", "x@y", "x@.ru", "x@y..ru", "a b@c.ru", "a@b.ru\nx", "<a@b.ru>"):
        with pytest.raises(ValueError):
            valid_address(bad)


async def test_no_inbox_without_imap_and_check_names_a_missing_host():
    c = EmailConnector(SourceConfig(name="mail", platform=Platform.EMAIL), mail_settings=MailSettings())
    assert (await c.fetch(None)).messages == []
    assert any("SMTP host" in p for p in await c.check())
    assert connector_class("email") is EmailConnector
    with pytest.raises(Malformed):  # `otklik normalize --platform email` answers with one JSON line
        EmailConnector.parse({})


def test_the_source_options_or_the_mail_section():
    fallback = MailSettings(host="smtp.adm.example", sender="a@adm.example")
    assert smtp_settings({}, fallback) is fallback
    own = smtp_settings({"host": "relay.example", "port": 587, "security": "starttls", "sender": "b@adm.example"},
                        fallback)
    assert (own.host, own.port, own.security, own.sender) == ("relay.example", 587, "starttls", "b@adm.example")


async def test_without_an_smtp_host_the_delivery_fails_clearly_not_as_a_bounce():
    c = EmailConnector(SourceConfig(name="mail", platform=Platform.EMAIL), mail_settings=MailSettings())
    with pytest.raises(Fatal) as err:
        await c.send(reply())
    assert not isinstance(err.value, Bounced) and "not configured" in str(err.value)
