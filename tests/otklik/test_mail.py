"""E-mail out, against a real SMTP server (aiosmtpd) started in the test."""

from __future__ import annotations

import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller

from otklik.mail import Attachment, MailError, MailSettings, build, new_message_id, send


class Inbox:
    def __init__(self, refuse: str | None = None) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse and address.startswith(self.refuse):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    def start(refuse: str | None = None):
        inbox = Inbox(refuse)
        port = free_port()  # the controller checks itself on its port: it cannot take port 0
        ctl = Controller(inbox, hostname="127.0.0.1", port=port)
        ctl.start()
        started.append(ctl)
        return inbox, MailSettings(host="127.0.0.1", port=port, sender="uprava@adm.example")
    started: list[Controller] = []
    yield start
    for ctl in started:
        ctl.stop()


async def test_a_message_with_an_attachment_arrives_whole(smtp):
    inbox, settings = smtp()
    msg = build(settings, to="citizen@example.org", subject="Ответ на обращение", body="Здравствуйте! Яму заделали.",
                message_id=new_message_id(settings, "reply-42"),
                attachments=[Attachment("фото.jpg", b"\xff\xd8\xff\xe0jpeg", "image/jpeg")])
    sent_id = await send(settings, msg)
    assert sent_id == "<reply-42@adm.example>"
    [got] = inbox.messages
    assert got["Message-ID"] == "<reply-42@adm.example>"
    assert got["Subject"] == "Ответ на обращение"
    assert got["Auto-Submitted"] == "auto-generated"
    parts = list(got.iter_attachments())
    assert [p.get_filename() for p in parts] == ["фото.jpg"]
    assert parts[0].get_content() == b"\xff\xd8\xff\xe0jpeg"
    assert "Яму заделали" in got.get_body(("plain",)).get_content()


async def test_the_same_key_gives_the_same_message_id_so_a_retry_is_recognisable():
    s = MailSettings(host="x", sender="a@adm.example")
    assert new_message_id(s, "k1") == new_message_id(s, "k1") != new_message_id(s, "k2")
    assert new_message_id(s) != new_message_id(s)


async def test_a_refused_mailbox_is_a_permanent_failure_a_bounce(smtp):
    _, settings = smtp(refuse="nobody")
    with pytest.raises(MailError) as err:
        await send(settings, build(settings, to="nobody@example.org", subject="s", body="b"))
    assert err.value.permanent and err.value.code == 550
    assert "nobody" not in str(err.value)  # addresses are personal data: not in the error text


async def test_an_unreachable_server_is_worth_another_try():
    settings = MailSettings(host="127.0.0.1", port=free_port(), timeout=2)  # nobody listens there
    with pytest.raises(MailError) as err:
        await send(settings, build(settings, to="a@example.org", subject="s", body="b"))
    assert not err.value.permanent


def test_a_password_in_the_file_is_refused_only_references_are_taken(monkeypatch):
    with pytest.raises(ValueError):
        MailSettings(password="hunter2")
    monkeypatch.setenv("SMTP_PW", "s3cret")
    assert MailSettings(password="env:SMTP_PW").resolved_password() == "s3cret"


async def test_mail_off_without_a_host():
    s = MailSettings()
    with pytest.raises(MailError) as err:
        await send(s, build(s, to="a@example.org", subject="s", body="b"))
    assert err.value.permanent
