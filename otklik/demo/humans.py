"""The people of a municipal centre, simulated for the demo through the real HTTP API:
the curator routes what the router was unsure of, executors write drafts, the approver (with
a one-time code, as the regulations require) approves them."""

from __future__ import annotations

import logging

import httpx
import pyotp

log = logging.getLogger("otklik.demo.humans")

DEMO_PASSWORD = "demo-password"  # local demo users only; never a real account
UNSURE = "zhkh"  # where the demo's curator sends what the router could not place


def executor_login(department: str) -> str:
    return f"executor_{department}"

ANSWER = ("Здравствуйте! Спасибо за обращение. Вопрос передан в {dept}: специалисты выедут на место "
          "и устранят проблему в ближайшие дни. О результате сообщим в этой ветке.")


class Humans:
    def __init__(self, api_url: str, totp_secrets: dict[str, str]) -> None:
        self.api = api_url.rstrip("/")
        self.totp_secrets = totp_secrets
        self.tokens: dict[str, str] = {}
        self.client = httpx.Client(timeout=10)

    def _token(self, login: str) -> str:
        if login not in self.tokens:
            body = {"login": login, "password": DEMO_PASSWORD}
            if self.totp_secrets.get(login):
                body["otp"] = pyotp.TOTP(self.totp_secrets[login]).now()
            r = self.client.post(f"{self.api}/api/login", json=body)
            r.raise_for_status()
            self.tokens[login] = r.json()["token"]
        return self.tokens[login]

    def _call(self, login: str, method: str, path: str, **kw) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token(login)}"}
        r = self.client.request(method, f"{self.api}{path}", headers=headers, **kw)
        if r.status_code == 401:  # the session ended (idle or absolute lifetime): log in again
            self.tokens.pop(login, None)
            headers = {"Authorization": f"Bearer {self._token(login)}"}
            r = self.client.request(method, f"{self.api}{path}", headers=headers, **kw)
        return r

    def cases(self, state: str) -> list[dict]:
        r = self._call("curator", "GET", "/api/cases", params={"state": state})
        r.raise_for_status()
        return r.json()["cases"]

    def work_once(self) -> dict[str, int]:
        """One round of everybody's work; returns what was done."""
        done = {"routed": 0, "drafted": 0, "approved": 0}
        for case in self.cases("identified"):
            executors = case["executors"] or [UNSURE]
            if self._call("curator", "POST", f"/api/cases/{case['id']}/route",
                          json={"executors": executors}).status_code == 200:
                done["routed"] += 1
        for case in self.cases("routed"):
            # The responsible department writes; where the curator writes the joint answer
            # (no responsible department), the first executor's draft stands in for it.
            dept = case.get("responsible") or case["executors"][0]
            try:
                r = self._call(executor_login(dept), "POST", f"/api/cases/{case['id']}/drafts",
                               json={"text": ANSWER.format(dept=dept), "kind": "answer"})
            except httpx.HTTPStatusError:  # a department the demo has no executor for
                continue
            done["drafted"] += r.status_code == 201
        for case in self.cases("on_approval"):
            r = self._call("approver", "POST", f"/api/cases/{case['id']}/approve")
            done["approved"] += r.status_code == 200
        return done

    def close(self) -> None:
        self.client.close()
