"""A message found by manual monitoring (000 §8: Incident Management plus manual monitoring; 004
Положение: ручной мониторинг), entered by the curator with its link.

It is stored like a polled message (source `manual`, the network it was found in as its platform,
the link as its identity, so entering the same link twice is refused and names the first entry),
then moderated, routed and given its deadlines by the pipeline like any other. The answer goes where
a person can post it: the curator posts it by the link, or sets the citizen's e-mail address.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.exceptions import InvalidTransition
from otklik.models import Platform
from otklik.sanitize import clean_text
from otklik.services import access
from storage import audit
from storage.tables import MessageRow, now

SOURCE = "manual"
NETWORKS = ("vk", "ok", "telegram", "max", "web")  # "web": a site or a forum outside the networks
MAX_TEXT = 20_000


def _external_id(url: str) -> str:
    return "link:" + hashlib.sha256(url.encode()).hexdigest()[:40]


def enter(session: Session, actor: Actor, *, text: str, url: str, network: str,
          found_at: datetime | None = None, author_name: str | None = None) -> MessageRow:
    access.require(session, actor, "enter_message", entity="message")
    text, url = clean_text((text or "").strip()), (url or "").strip()
    if not text or len(text) > MAX_TEXT:
        raise InvalidTransition(f"the message's text is 1 to {MAX_TEXT} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 1000:
        raise InvalidTransition("the link is the address where the message was found (http or https)")
    if network not in NETWORKS:
        raise InvalidTransition(f"network is one of {', '.join(NETWORKS)}")
    external_id = _external_id(url)
    earlier = session.execute(select(MessageRow.id).where(MessageRow.source == SOURCE,
                                                          MessageRow.external_id == external_id)).scalar()
    if earlier is not None:
        raise InvalidTransition(f"this link was already entered (message {earlier})")
    found = found_at or now()
    # A message found in a network keeps that network as its platform; a site outside them is "web",
    # which no connector answers (the curator posts by the link or sets an e-mail address).
    platform = network if network in {p.value for p in Platform} else "web"
    raw: dict[str, Any] = {"entered_by": actor.login, "network": network, "link": url}
    row = MessageRow(source=SOURCE, platform=platform, external_id=external_id,
                     thread={"kind": "manual", "ids": {"link": url}}, author_id=f"manual:{external_id[5:21]}",
                     author_name=(author_name or None) and author_name[:300], author_url=None, text=text,
                     created_at=found, url=url, attachments=[], raw=raw, stored_at=now(), processed=False,
                     revision=1, pipeline_attempts=0, fast_track=False, engagement=0)
    session.add(row)
    session.flush()
    audit.append(session, actor=actor.login, action="message_entered", entity="message", entity_id=row.id,
                 data={"network": network, "clause": "000 §8; 004 ручной мониторинг"})
    return row
