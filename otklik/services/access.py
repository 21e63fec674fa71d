"""Who may see and do what: THE rules, in one place, for the API, the CLI and the console.

Every request that touches a case passes three gates, in this order:
1. the role: may any role the actor holds ever take this action? If not: `Refused` (403), before
   the case is looked at, so the answer says nothing about whether the case exists;
2. the scope: curators, approvers and the head see the municipality's cases (one municipality per
   deployment: all of them); an executor sees the cases its department has or had, plus those of
   the colleagues it stands in for. Outside: `OutOfScope`, a NotFound (404), as for no case at all;
3. for a step of the lifecycle, the role the case's profile and channel give it
   (`regulation.lifecycle.roles_for`), and an executor's department must hold the case now
   (responsible or co-executor) to change it. Approving and publishing also need a fresh second factor.

Refusals and out-of-scope attempts are written to the audit log by `otklik.services.run`, in a
transaction of their own, since the refused one rolls back.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from otklik.actor import Actor
from otklik.exceptions import NotFound, PermissionDenied
from regulation.lifecycle import roles_for
from regulation.profiles import list_profiles, load_profile
from storage import audit
from storage.tables import CaseAssignmentRow, CaseRow, SubstituteRow, UserRow, now

MUNICIPAL = frozenset({"curator", "approver", "head", "system"})  # the whole municipality's cases
CASE_ROLES = frozenset({"curator", "approver", "head", "executor", "system"})
ROLES = ("curator", "executor", "approver", "head", "admin")

# Steps of the regulated lifecycle: who may take them depends on the case's profile and channel.
LIFECYCLE = ("route", "return", "submit_draft", "request_extension", "approve", "send_back",
             # the regulated actions of otklik/services/case_actions.py
             "set_term", "set_final_term", "set_responsible", "coexecutor_input", "decide_repeat",
             "set_importance", "close")
# Actions that are not lifecycle steps, and the roles that may take them.
OTHER: dict[str, frozenset[str]] = {
    "read": CASE_ROLES,  # list, show, audit trail, attachments, exports
    "read_dropped": frozenset({"curator", "head"}),
    "overrule_drop": frozenset({"curator"}),
    "read_alerts": frozenset({"curator", "head"}),
    # The head's dashboard (overdue and near-due by department, alerts, today's volume); the
    # curator, who runs the day, sees it too.
    "read_dashboard": frozenset({"head", "curator"}),
    # Sources' health and their quarantine counts (no payloads): who keeps the intake running.
    "read_sources": frozenset({"curator", "admin"}),
    "read_deliveries": frozenset({"curator"}),
    "retry_delivery": frozenset({"curator"}),
    "redirect_delivery": frozenset({"curator"}),
    # Where the answer goes by e-mail (004 §2.4, or a citizen who asked): the curator, who reads
    # the letter or the call that gave the address.
    "set_reply_address": frozenset({"curator"}),
    # The place a message is about, as the curator reads it (the router's guess corrected).
    "set_location": frozenset({"curator"}),
    # A message found by manual monitoring (000 §8, 004 Положение: ручной мониторинг) is entered
    # by the curator, who runs the monitoring.
    "enter_message": frozenset({"curator"}),
    # Every member of staff links their own chat with the staff bot (otklik.services.staff_links
    # binds a code to the actor's own user, never to anyone else's).
    "link_staff_bot": frozenset(ROLES),
    # Files with an answer (photos, videos, documents): the executor whose department holds the
    # case now, who writes the answer, or the curator (001 §18, 002 §17, ПОС §16, Камчатка §2.5).
    "attach": frozenset({"curator", "executor"}),
    # An admin runs the directory (users, departments, substitutes) and approves nothing unless
    # it also holds an approving role.
    "manage_directory": frozenset({"admin"}),
}
# Decisions a regional platform takes itself and reports back. The platform's word is
# authoritative: «Камчатка в порядке»'s coordinator grants or refuses an extension on the platform
# (000 прил. 2 §2.5), so the platform (acting as "system") takes the decision in the role the
# profile gives it, instead of being refused as if it were a person without that role.
PLATFORM_AUTHORITATIVE = frozenset({"decide_extension"})
# Actions outside the lifecycle that an executor may take only while its department holds the case.
HOLDING = frozenset({"attach"})
# Posting in the municipality's name needs a second factor proven within `step_up_seconds`.
STEP_UP = frozenset({"approve", "retry_delivery", "redirect_delivery"})


class Refused(PermissionDenied):
    """A role refusal (403). Carries what the audit log records about it."""

    code = "forbidden"

    def __init__(self, message: str, *, actor: Actor, action: str, entity: str = "case",
                 entity_id: str | int = "-", reason: str = "role") -> None:
        super().__init__(message)
        self.actor, self.action, self.entity, self.entity_id, self.reason = actor, action, entity, entity_id, reason


class StepUpRequired(Refused):
    code = "step_up_required"


class OutOfScope(NotFound):
    """A case that exists outside the actor's scope: answered exactly like a missing one."""

    def __init__(self, *, actor: Actor, action: str, case_id: int) -> None:
        super().__init__(f"no case {case_id}")
        self.actor, self.action, self.entity, self.entity_id, self.reason = actor, action, "case", case_id, "scope"


@dataclass(frozen=True)
class Scope:
    roles: frozenset[str]  # held, plus "executor" while standing in for an executor
    departments: frozenset[str]  # own, plus those of the colleagues stood in for today
    municipal: bool


@dataclass(frozen=True)
class Permit:
    """A case the actor may take `action` on, and the role it acts in (for the lifecycle)."""

    case: CaseRow
    role: str
    scope: Scope


def actor_of(user: UserRow, *, via: str = "api", session_id: int | None = None,
             second_factor_at: datetime | None = None) -> Actor:
    """The Actor of a stored user, with every role it holds."""
    return Actor(login=user.login, role=user.role, department=user.department, user_id=user.id,
                 session_id=session_id, second_factor_at=second_factor_at, via=via,
                 roles=frozenset(user.roles or ()))


def local_today() -> date:
    """The municipality's date (substitutions are set in its dates)."""
    from otklik.settings import get_settings

    return load_profile(get_settings().profile).calendar.local(now()).date()


def scope(session: Session, actor: Actor, today: date | None = None) -> Scope:
    roles = set(actor.roles)
    departments = {actor.department} if actor.department else set()
    if actor.via != "system":
        today = today or local_today()
        stands_in = session.execute(
            select(UserRow.department, UserRow.role, UserRow.roles)
            .join(SubstituteRow, SubstituteRow.absent_login == UserRow.login)
            .where(SubstituteRow.substitute_login == actor.login, SubstituteRow.starts_on <= today,
                   SubstituteRow.ends_on >= today))
        for dept, role, held in stands_in:
            if dept and "executor" in {role, *(held or ())}:
                departments.add(dept)
                roles.add("executor")
    return Scope(roles=frozenset(roles), departments=frozenset(departments),
                 municipal=bool(roles & MUNICIPAL))


def visible_cases(stmt: Select, sc: Scope) -> Select:
    """Narrow a query over CaseRow to the cases in scope."""
    if sc.municipal:
        return stmt
    if "executor" not in sc.roles or not sc.departments:
        return stmt.where(false())
    held = select(CaseAssignmentRow.case_id).where(CaseAssignmentRow.department.in_(sc.departments))
    return stmt.where(CaseRow.id.in_(held))


@functools.cache
def _ever_allowed(action: str) -> frozenset[str]:
    """The roles that may take a lifecycle step on some channel of some profile."""
    out: set[str] = set()
    for name in list_profiles():
        profile = load_profile(name)
        for channel in profile.channels:
            out |= roles_for(action, profile, channel)
    return frozenset(out)


def allowed_roles(action: str) -> frozenset[str]:
    if action in OTHER:
        return OTHER[action]
    if action in LIFECYCLE:
        return _ever_allowed(action)
    raise ValueError(f"unknown action {action!r}")


def require(session: Session, actor: Actor, action: str, *, entity: str = "-",
            entity_id: str | int = "-") -> Scope:
    """Gate 1: refuse an action no role of the actor's may take. Returns the actor's scope."""
    sc = scope(session, actor)
    if not sc.roles & allowed_roles(action):
        raise Refused(f"role {'/'.join(sorted(actor.roles))} may not {action}", actor=actor, action=action,
                      entity=entity, entity_id=entity_id)
    return sc


def may(session: Session, actor: Actor, action: str) -> bool:
    """Whether any role of the actor's may take `action` (gate 1, without refusing): pages use it
    to offer only the controls that would not answer 403."""
    return bool(scope(session, actor).roles & allowed_roles(action))


def case_for(session: Session, actor: Actor, case_id: int, action: str, *,
             at: datetime | None = None) -> Permit:
    """The case, if the actor may take `action` on it; else Refused (403) or NotFound (404)."""
    sc = require(session, actor, action, entity="case", entity_id=case_id)
    row = session.get(CaseRow, case_id)
    if row is None:
        raise NotFound(f"no case {case_id}")
    if not sc.municipal and not _in_scope(session, sc, case_id):
        raise OutOfScope(actor=actor, action=action, case_id=case_id)
    if action not in LIFECYCLE:
        role = _primary(actor, sc.roles & allowed_roles(action))
        if action in HOLDING and role == "executor" and held_department(session, sc, case_id) is None:
            raise Refused(f"case {case_id} is not with your department now", actor=actor, action=action,
                          entity_id=case_id, reason="assignment")
        return Permit(case=row, role=role, scope=sc)
    profile = load_profile(row.profile)
    allowed = roles_for(action, profile, row.channel)
    candidates = sc.roles & allowed
    if not candidates:
        raise Refused(f"role {'/'.join(sorted(actor.roles))} may not {action} on channel {row.channel} of "
                      f"{profile.name} (allowed: {', '.join(sorted(allowed)) or 'nobody'})",
                      actor=actor, action=action, entity_id=case_id)
    role = _primary(actor, candidates)
    if role == "executor" and held_department(session, sc, case_id) is None:
        raise Refused(f"case {case_id} is not with your department now", actor=actor, action=action,
                      entity_id=case_id, reason="assignment")
    if action in STEP_UP:
        require_fresh_second_factor(actor, at or now(), step_up_window())
    return Permit(case=row, role=role, scope=sc)


def held_department(session: Session, sc: Scope, case_id: int) -> str | None:
    """Which of the scope's departments holds the case now (the responsible one first), if any.
    A co-executor holds it too: on some channels every executor is one and the curator writes."""
    if not sc.departments:
        return None
    return session.execute(
        select(CaseAssignmentRow.department).where(
            CaseAssignmentRow.case_id == case_id, CaseAssignmentRow.unassigned_at.is_(None),
            CaseAssignmentRow.department.in_(sc.departments))
        .order_by(CaseAssignmentRow.role != "responsible", CaseAssignmentRow.id)
    ).scalars().first()


def _in_scope(session: Session, sc: Scope, case_id: int) -> bool:
    stmt = visible_cases(select(CaseRow.id).where(CaseRow.id == case_id), sc)
    return session.execute(stmt).first() is not None


def _primary(actor: Actor, candidates: frozenset[str] | set[str]) -> str:
    """The role to act in: the primary one when it is allowed, else the first allowed by name."""
    return actor.role if actor.role in candidates else sorted(candidates)[0]


def step_up_window() -> timedelta:
    from otklik.settings import get_settings

    return timedelta(seconds=get_settings().step_up_seconds)


def require_fresh_second_factor(actor: Actor, at: datetime, window: timedelta, *, action: str = "approve",
                                entity: str = "case", entity_id: str | int = "-") -> None:
    """Approving and publishing through a long-lived session need the second factor proven again
    within `window`. The CLI asks for the one-time code on every command, so it is always fresh."""
    if actor.via not in ("api", "console"):
        return
    if actor.second_factor_at is None or at - actor.second_factor_at > window:
        raise StepUpRequired("confirm with a one-time code first: this action needs a second factor "
                             f"proven within {int(window.total_seconds())} s", actor=actor, action=action,
                             entity=entity, entity_id=entity_id, reason="step_up")


def record_refusal(session: Session, exc: Refused | OutOfScope) -> None:
    audit.append(session, actor=exc.actor.login, action="refused", entity=exc.entity, entity_id=exc.entity_id,
                 data={"action": exc.action, "reason": exc.reason, "via": exc.actor.via,
                       "roles": sorted(exc.actor.roles)})


def platform_role(action: str, profile_name: str, channel: str) -> str:
    """The role a regional platform's reported decision is applied in: "system", or for a decision
    the platform takes itself (PLATFORM_AUTHORITATIVE) the role its profile names for it."""
    if action not in PLATFORM_AUTHORITATIVE:
        return "system"
    allowed = roles_for(action, load_profile(profile_name), channel)
    return "system" if "system" in allowed or not allowed else sorted(allowed)[0]
