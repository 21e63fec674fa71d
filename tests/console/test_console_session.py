"""The console's cookies: HttpOnly and SameSite=Strict always, Secure when the request came over TLS;
the CSRF check compares the form's token with the browser's cookie."""

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from otklik.console import session


def _cookie(request) -> str:
    response = web.Response()
    session.set_session(request, response, "token")
    return response.cookies[session.SESSION_COOKIE].output()


def test_session_cookie_flags_follow_the_transport():
    plain = make_mocked_request("GET", "/console/login")
    tls = plain.clone(scheme="https")
    assert "HttpOnly" in _cookie(plain) and "SameSite=Strict" in _cookie(plain) and "Secure" not in _cookie(plain)
    assert "Secure" in _cookie(tls) and "HttpOnly" in _cookie(tls)


def test_csrf_matches_only_the_cookie():
    request = make_mocked_request("GET", "/", headers={"Cookie": f"{session.CSRF_COOKIE}=abc"})
    assert session.csrf_matches(request, "abc")
    assert not session.csrf_matches(request, "abd") and not session.csrf_matches(request, None)
    assert not session.csrf_matches(make_mocked_request("GET", "/"), "")  # no cookie, no token: refused
