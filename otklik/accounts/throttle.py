"""Login throttling, kept in the database (table login_attempts) so every process agrees.

Three limits, chosen so that guessing is slow but nobody can lock the head out for good:

* per (login, address) pair: after PAIR_FREE failures since that pair's last success (or an
  admin's unlock of the login), each further try waits twice as long as the one before —
  1, 2, 4 … minutes, at most PAIR_MAX_DELAY. This is the lockout; an admin lifts it
  (`otklik users unlock`). It binds only the address that guessed.
* per address: ADDRESS_LIMIT failures within ADDRESS_WINDOW, whatever the logins, stop that
  address for ADDRESS_WINDOW (one address spraying many logins).
* per login, from everywhere: LOGIN_SLOW failures within LOGIN_WINDOW (many addresses guessing
  one login) only slow it down: one try per LOGIN_SLOW_GAP from addresses that have never logged
  in to it — an address with a success for this login in the last KNOWN_FOR is not slowed, so the
  head at their usual desk still gets in while a botnet guesses.

Unknown logins are throttled exactly like known ones, so a refusal tells nothing about existence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.tables import LoginAttemptRow

PAIR_FREE = 5
PAIR_MAX_DELAY = timedelta(hours=1)
ADDRESS_LIMIT = 30
ADDRESS_WINDOW = timedelta(minutes=15)
LOGIN_SLOW = 20
LOGIN_WINDOW = timedelta(hours=1)
LOGIN_SLOW_GAP = timedelta(minutes=1)
KNOWN_FOR = timedelta(days=30)
KEEP = timedelta(days=31)
UNLOCK_ADDRESS = "*"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds
    reason: str = ""  # pair | address | login (for the audit; never shown to the client)


def clean_login(login: str) -> str:
    """The attempted login as it may be stored: printable, at most 64 characters."""
    return "".join(ch for ch in login if ch.isprintable())[:64]


def _since_reset(session: Session, login: str, address: str | None, floor: datetime) -> datetime:
    """The latest of: floor, the last success (of the pair, or of the login when address is None),
    the last admin unlock of the login."""
    conds = [LoginAttemptRow.login == login, LoginAttemptRow.at >= floor]
    ok = LoginAttemptRow.outcome == "ok"
    if address is not None:
        ok = ok & (LoginAttemptRow.address == address)
    last = session.execute(select(func.max(LoginAttemptRow.at)).where(
        *conds, ok | (LoginAttemptRow.outcome == "unlock"))).scalar()
    return max(floor, last) if last else floor


def pair_delay(failures: int) -> timedelta:
    if failures < PAIR_FREE:
        return timedelta(0)
    # The exponent is capped first: 2**60 minutes does not fit a timedelta.
    return min(timedelta(minutes=2 ** min(failures - PAIR_FREE, 20)), PAIR_MAX_DELAY)


def _failures(session: Session, *where) -> tuple[int, datetime | None]:
    count, last = session.execute(select(func.count(), func.max(LoginAttemptRow.at))
                                  .where(LoginAttemptRow.outcome == "fail", *where)).one()
    return int(count), last


def check(session: Session, login: str, address: str, at: datetime) -> Verdict:
    login = clean_login(login)
    # The pair.
    since = _since_reset(session, login, address, at - timedelta(days=1))
    n, last = _failures(session, LoginAttemptRow.login == login, LoginAttemptRow.address == address,
                        LoginAttemptRow.at > since)
    wait = pair_delay(n)
    if wait and last is not None and at < last + wait:
        return Verdict(False, _seconds(last + wait - at), "pair")
    # The address.
    n, last = _failures(session, LoginAttemptRow.address == address, LoginAttemptRow.at > at - ADDRESS_WINDOW)
    if n >= ADDRESS_LIMIT and last is not None:
        return Verdict(False, _seconds(last + ADDRESS_WINDOW - at), "address")
    # The login, from everywhere.
    since = _since_reset(session, login, None, at - LOGIN_WINDOW)
    n, last = _failures(session, LoginAttemptRow.login == login, LoginAttemptRow.at > since)
    if n >= LOGIN_SLOW and last is not None and at < last + LOGIN_SLOW_GAP and not _known(session, login, address, at):
        return Verdict(False, _seconds(last + LOGIN_SLOW_GAP - at), "login")
    return Verdict(True)


def _known(session: Session, login: str, address: str, at: datetime) -> bool:
    return session.execute(select(LoginAttemptRow.id).where(
        LoginAttemptRow.login == login, LoginAttemptRow.address == address, LoginAttemptRow.outcome == "ok",
        LoginAttemptRow.at > at - KNOWN_FOR).limit(1)).first() is not None


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))


def record(session: Session, login: str, address: str, outcome: str, at: datetime) -> int:
    """Stores one attempt; returns the pair's failures since its last reset (after this one)."""
    login = clean_login(login)
    session.add(LoginAttemptRow(at=at, login=login, address=address[:64], outcome=outcome))
    session.execute(delete(LoginAttemptRow).where(LoginAttemptRow.at < at - KEEP))
    session.flush()
    if outcome != "fail":
        return 0
    since = _since_reset(session, login, address, at - timedelta(days=1))
    n, _ = _failures(session, LoginAttemptRow.login == login, LoginAttemptRow.address == address,
                     LoginAttemptRow.at > since)
    return n


def unlock(session: Session, login: str, at: datetime) -> None:
    session.add(LoginAttemptRow(at=at, login=clean_login(login), address=UNLOCK_ADDRESS, outcome="unlock"))
    session.flush()


def locked_pairs(session: Session, login: str, at: datetime) -> list[dict]:
    """The addresses currently waiting on this login (for the admin)."""
    login = clean_login(login)
    addresses = session.execute(select(LoginAttemptRow.address).where(
        LoginAttemptRow.login == login, LoginAttemptRow.outcome == "fail",
        LoginAttemptRow.at > at - timedelta(days=1)).distinct()).scalars().all()
    out = []
    for address in addresses:
        verdict = check(session, login, address, at)
        if not verdict.allowed:
            out.append({"address": address, "retry_after": verdict.retry_after, "reason": verdict.reason})
    return out
