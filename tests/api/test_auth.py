"""Accounts and isolation with NASBOARD_AUTH=required: every route needs credentials, owners
see only their own things (404 otherwise), admins see all, tokens and the session cookie."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from backend.api.app import PLOTLY_URL, create_app
from backend.core.config import Settings
from backend.db.models import Candidate, Dataset, Search
from backend.search.space import baseline_genome
from backend.services import users
from tests.api.conftest import Team

SEARCH = {
    "name": "mine",
    "dataset": "digits",
    "population_size": 4,
    "generations": 1,
    "epochs_per_candidate": 1,
}
# Routes anyone may call: liveness (the compose healthcheck), signing in and out, the API's
# own description, the sign-in page and static files (the dashboard's code, no data).
PUBLIC_API = {"/api/health", "/api/auth/login", "/api/auth/logout"}
PUBLIC_OTHER = {
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/login",
    "/login.css",
    "/static/plotly.min.js",
    PLOTLY_URL,
}
PAGES = {"/", "/new", "/searches/{rest:path}"}


def fill(path: str, ids: dict[str, object]) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(ids.get(m.group(1), "x")), path)


def flat_routes(routes: list) -> list[tuple[str, set[str] | None, object]]:
    """(path, methods, route) of every route, included routers expanded (FastAPI >= 0.16x
    keeps them as lazy ``_IncludedRouter`` entries in ``app.routes``)."""
    out: list[tuple[str, set[str] | None, object]] = []
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            out += [(c.path_format, set(c.methods), c.original_route) for c in contexts()]
        else:
            out.append((route.path, getattr(route, "methods", None), route))
    return out


def api_routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path template) of every route that is not a page or the static mount;
    fails on a route it cannot classify, so a new one cannot slip by."""
    out = []
    for path, methods, route in flat_routes(client.app.routes):  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            assert path == "/static", f"unexpected mount {path}"
        elif path in PAGES:
            continue
        elif isinstance(route, APIRoute | Route):
            assert methods, path
            assert path.startswith("/api/") or path in PUBLIC_OTHER, f"unclassified route {path}"
            out += [(m, path) for m in sorted(methods - {"HEAD"})]
        else:  # pragma: no cover
            raise AssertionError(f"unknown route kind {route!r}")
    return out


def seed_owned(team: Team) -> dict[str, object]:
    """A search, a candidate and an uploaded dataset of alice's, straight into the database."""
    with team.db.write() as session:
        search = Search(
            name="alice's",
            dataset="digits",
            strategy="evolution",
            config={"population_size": 4, "generations": 1},
            owner_id=team.ids["alice"],
        )
        session.add(search)
        session.flush()
        candidate = Candidate(
            search_id=search.id,
            generation=0,
            index=0,
            status="pending",
            genome=baseline_genome((8, 8, 1)),
            genome_hash="h",
            origin="random",
            detail="",
            parent_ids=[],
            attempts=0,
            metrics={},
        )
        session.add(candidate)
        session.add(
            Dataset(
                id="alices-data-0001",
                name="alice's data",
                description="",
                source_format="npz",
                source_filename="a.npz",
                source_sha256="0" * 64,
                input_shape=[8, 8, 1],
                num_classes=2,
                class_names=["a", "b"],
                train_size=10,
                val_size=2,
                test_size=2,
                class_counts={},
                sha256="0" * 64,
                val_fraction=0.1,
                stratified=True,
                split_seed=0,
                test_source="held_out",
                path="datasets/alices-data-0001.npz",
                size=1,
                preview_path="datasets/alices-data-0001.png",
                owner_id=team.ids["alice"],
            )
        )
        session.flush()
        return {
            "search_id": search.id,
            "candidate_id": candidate.id,
            "dataset_id": "alices-data-0001",
        }


def test_every_route_without_credentials_is_401(auth_client: TestClient, team: Team) -> None:
    ids = seed_owned(team)
    routes = api_routes(auth_client)
    assert len(routes) >= 20
    guarded = [(m, p) for m, p in routes if p not in PUBLIC_API | PUBLIC_OTHER]
    assert any(p.endswith("/events") for _, p in guarded), "the SSE streams are guarded too"
    for method, template in guarded:
        response = auth_client.request(method, fill(template, ids))
        assert response.status_code == 401, (method, template, response.status_code)
        assert response.headers["www-authenticate"].startswith("Bearer")
        for bad in ("Bearer nbt_forged-token-that-was-never-issued", "Basic YWxpY2U6eA==", "x"):
            forged = auth_client.request(
                method, fill(template, ids), headers={"Authorization": bad}
            )
            assert forged.status_code == 401, (method, template, bad, forged.status_code)


def test_public_routes_stay_public(auth_client: TestClient) -> None:
    assert auth_client.get("/api/health").json()["status"] == "ok"
    assert auth_client.get("/openapi.json").status_code == 200
    assert auth_client.get("/login").status_code == 200
    assert auth_client.post("/api/auth/logout").status_code == 204


def test_pages_redirect_to_login(auth_client: TestClient, team: Team) -> None:
    for path in ("/", "/new", "/searches/3"):
        response = auth_client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    page = auth_client.get("/", follow_redirects=True)
    assert page.url.path == "/login"
    assert 'action="/api/auth/login"' in page.text
    auth_client.post("/api/auth/login", json={"username": "bob", "password": "bob-password"})
    assert auth_client.get("/new", follow_redirects=False).status_code == 200
    assert auth_client.get("/login", follow_redirects=False).status_code == 303


def test_another_users_things_are_404_on_every_route(auth_client: TestClient, team: Team) -> None:
    ids = seed_owned(team)
    owned = [
        (m, p)
        for m, p in api_routes(auth_client)
        if any(f"{{{k}}}" in p for k in ids) and not p.startswith("/api/auth")
    ]
    assert len(owned) >= 12
    for method, template in owned:
        url = fill(template, ids)
        theirs = auth_client.request(method, url, headers=team.auth("bob"))
        assert theirs.status_code == 404, (method, template, theirs.status_code, theirs.text)
        assert "not found" in theirs.json()["detail"]
    # The owner and an admin do see them.
    for who in ("alice", "root"):
        for path in (
            f"/api/searches/{ids['search_id']}",
            f"/api/searches/{ids['search_id']}/candidates",
            f"/api/candidates/{ids['candidate_id']}",
            f"/api/datasets/{ids['dataset_id']}",
        ):
            assert auth_client.get(path, headers=team.auth(who)).status_code == 200, (who, path)


def test_lists_show_only_the_callers_own(auth_client: TestClient, team: Team) -> None:
    seed_owned(team)
    mine = auth_client.post("/api/searches", json=SEARCH, headers=team.auth("bob"))
    assert mine.status_code == 201
    listing = auth_client.get("/api/searches", headers=team.auth("bob")).json()
    assert [s["id"] for s in listing["items"]] == [mine.json()["id"]]
    assert listing["count"] == 1
    assert auth_client.get("/api/searches", headers=team.auth("alice")).json()["count"] == 1
    assert auth_client.get("/api/searches", headers=team.auth("root")).json()["count"] == 2
    bob_sets = {d["id"] for d in auth_client.get("/api/datasets", headers=team.auth("bob")).json()}
    assert "digits" in bob_sets and "alices-data-0001" not in bob_sets
    alice_sets = auth_client.get("/api/datasets", headers=team.auth("alice")).json()
    assert "alices-data-0001" in {d["id"] for d in alice_sets}


def test_the_list_stream_carries_only_the_callers_searches(
    auth_client: TestClient, team: Team
) -> None:
    from backend.api.routes.events import _changes
    from backend.services.access import Principal

    seed_owned(team)
    bob = Principal(user_id=team.ids["bob"], name="bob", is_admin=False, method="token")
    seen: dict[int, int] = {}
    assert _changes(team.db, seen, bob) == []
    assert seen == {}
    admin_seen: dict[int, int] = {}
    _changes(team.db, admin_seen, Principal.single_user())
    assert len(admin_seen) == 1


def test_using_another_users_dataset_is_422_unknown(auth_client: TestClient, team: Team) -> None:
    seed_owned(team)
    body = {**SEARCH, "dataset": "alices-data-0001"}
    response = auth_client.post("/api/searches", json=body, headers=team.auth("bob"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "dataset"]


def test_idempotency_keys_are_per_user(auth_client: TestClient, team: Team) -> None:
    key = {"Idempotency-Key": "same-key"}
    a = auth_client.post("/api/searches", json=SEARCH, headers={**team.auth("alice"), **key})
    b = auth_client.post("/api/searches", json=SEARCH, headers={**team.auth("bob"), **key})
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    again = auth_client.post("/api/searches", json=SEARCH, headers={**team.auth("bob"), **key})
    assert again.json()["id"] == b.json()["id"]


def test_revoked_expired_and_disabled_tokens_are_401(auth_client: TestClient, team: Team) -> None:
    ok = auth_client.get("/api/auth/me", headers=team.auth("alice"))
    assert ok.status_code == 200
    assert ok.json() == {
        "id": team.ids["alice"],
        "name": "alice",
        "is_admin": False,
        "method": "token",
        "auth_required": True,
    }
    users.revoke_token(team.db, token=team.tokens["alice"])
    assert auth_client.get("/api/searches", headers=team.auth("alice")).status_code == 401

    _, expired = users.create_token(team.db, "bob", expires_in=timedelta(seconds=-1))
    headers = {"Authorization": f"Bearer {expired}"}
    assert auth_client.get("/api/searches", headers=headers).status_code == 401

    assert auth_client.get("/api/searches", headers=team.auth("bob")).status_code == 200
    users.set_disabled(team.db, "bob", True)
    assert auth_client.get("/api/searches", headers=team.auth("bob")).status_code == 401


def test_tokens_are_stored_only_as_hashes(team: Team) -> None:
    from sqlalchemy import select

    from backend.db.models import ApiToken, User

    with team.db.read() as session:
        hashes = list(session.scalars(select(ApiToken.token_hash)))
        passwords = list(session.scalars(select(User.password_hash)))
    assert all(len(h) == 64 for h in hashes)
    assert not set(team.tokens.values()) & set(hashes)
    assert all(p and p.startswith("scrypt$") and "password" not in p for p in passwords)


def _login(client: TestClient, name: str, password: str, **kw: object) -> object:
    return client.post("/api/auth/login", json={"username": name, "password": password}, **kw)


def test_session_cookie_works_for_the_api_and_sse(auth_client: TestClient, team: Team) -> None:
    response = auth_client.post(
        "/api/auth/login", json={"username": "alice", "password": "alice-password"}
    )
    assert response.status_code == 200
    assert response.json()["method"] == "session"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("nasboard_session=nbs_")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/" in cookie
    assert "Secure" not in cookie
    created = auth_client.post("/api/searches", json=SEARCH)
    assert created.status_code == 201
    search_id = created.json()["id"]
    assert auth_client.get("/api/auth/me").json()["name"] == "alice"
    assert auth_client.post(f"/api/searches/{search_id}/cancel").status_code == 200
    with auth_client.stream("GET", f"/api/searches/{search_id}/events") as stream:
        assert stream.status_code == 200
        text = "".join(stream.iter_text())
    assert '"status":"cancelled"' in text and "event: end" in text
    # Signing out ends the session on the server, not only in this browser.
    value = auth_client.cookies.get("nasboard_session")
    assert auth_client.post("/api/auth/logout").status_code == 204
    assert auth_client.get("/api/searches").status_code == 401
    stolen = {"Cookie": f"nasboard_session={value}"}
    assert auth_client.get("/api/searches", headers=stolen).status_code == 401


def test_cookie_writes_from_another_origin_are_refused(auth_client: TestClient, team: Team) -> None:
    _login(auth_client, "alice", "alice-password")
    evil = {"Origin": "http://evil.example"}
    assert auth_client.post("/api/searches", json=SEARCH, headers=evil).status_code == 403
    same = {"Origin": "http://testserver"}
    assert auth_client.post("/api/searches", json=SEARCH, headers=same).status_code == 201
    # A bearer token is not sent by browsers on their own, so no origin check applies.
    auth_client.cookies.clear()
    assert (
        auth_client.post(
            "/api/searches", json=SEARCH, headers={**evil, **team.auth("bob")}
        ).status_code
        == 201
    )


def test_secure_cookie_is_configurable(auth_settings: Settings, team: Team) -> None:
    settings = auth_settings.model_copy(update={"cookie_secure": True})
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        response = _login(client, "alice", "alice-password")
        assert "Secure" in response.headers["set-cookie"]  # type: ignore[attr-defined]
        assert "strict-transport-security" in response.headers  # type: ignore[attr-defined]


def test_login_form_redirects_and_shows_errors(auth_client: TestClient, team: Team) -> None:
    bad = auth_client.post(
        "/api/auth/login",
        data={"username": "alice", "password": "nope-nope", "next": "/searches/1"},
        follow_redirects=False,
    )
    assert bad.status_code == 401
    assert "Wrong user name or password" in bad.text
    assert 'value="/searches/1"' in bad.text
    good = auth_client.post(
        "/api/auth/login",
        data={"username": "alice", "password": "alice-password", "next": "/searches/1"},
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert good.headers["location"] == "/searches/1"
    offsite = auth_client.post(
        "/api/auth/login",
        data={"username": "alice", "password": "alice-password", "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert offsite.headers["location"] == "/"
    out = auth_client.post("/api/auth/logout", data={}, follow_redirects=False)
    assert out.status_code in (204, 303)


def test_login_page_escapes_what_it_echoes(auth_client: TestClient) -> None:
    page = auth_client.get("/login", params={"next": '/"><script>alert(1)</script>'})
    assert "<script>alert" not in page.text
    # Browsers send `Origin: null` on a form POST from a no-referrer page; the login page
    # keeps its origin so the login route's same-origin check passes.
    assert page.headers["referrer-policy"] == "same-origin"


def test_login_rate_limit_is_429(auth_settings: Settings, team: Team) -> None:
    settings = auth_settings.model_copy(update={"login_max_failures": 3})
    with TestClient(create_app(settings)) as client:
        for _ in range(3):
            assert _login(client, "alice", "wrong-password").status_code == 401  # type: ignore[attr-defined]
        limited = _login(client, "alice", "wrong-password")
        assert limited.status_code == 429  # type: ignore[attr-defined]
        assert int(limited.headers["retry-after"]) >= 1  # type: ignore[attr-defined]
        # Even the right password waits now, so guessing cannot go on.
        assert _login(client, "alice", "alice-password").status_code == 429  # type: ignore[attr-defined]
        # Another name from this client still may sign in.
        assert _login(client, "bob", "bob-password").status_code == 200  # type: ignore[attr-defined]


def test_login_limiter_window_and_spread() -> None:
    from backend.api.ratelimit import SPREAD, LoginLimiter

    now = [0.0]
    limiter = LoginLimiter(2, 60.0, clock=lambda: now[0])
    limiter.failed("1.2.3.4", "alice")
    assert limiter.retry_after("1.2.3.4", "alice") is None
    limiter.failed("1.2.3.4", "Alice")
    assert limiter.retry_after("1.2.3.4", "alice") == 60
    now[0] = 30.0
    assert limiter.retry_after("1.2.3.4", "alice") == 30
    now[0] = 60.5
    assert limiter.retry_after("1.2.3.4", "alice") is None
    # Spraying names from one client is capped too.
    for i in range(2 * SPREAD):
        limiter.failed("5.6.7.8", f"user{i}")
    assert limiter.retry_after("5.6.7.8", "someone-else") is not None


def test_bad_login_bodies_are_4xx(auth_client: TestClient) -> None:
    assert auth_client.post("/api/auth/login", json={"username": "x"}).status_code == 422
    assert auth_client.post("/api/auth/login", content=b"{not json").status_code == 422
    assert auth_client.post("/api/auth/login", json=[1, 2]).status_code == 422
    long = {"username": "a" * 65, "password": "x"}
    assert auth_client.post("/api/auth/login", json=long).status_code == 422
    huge = {"username": "alice", "password": "x" * 20_000}
    assert auth_client.post("/api/auth/login", json=huge).status_code == 413


def test_mass_assignment_of_owner_status_and_id_is_ignored(
    auth_client: TestClient, team: Team
) -> None:
    body = {
        **SEARCH,
        "owner_id": team.ids["alice"],
        "owner": "alice",
        "status": "succeeded",
        "id": 777,
        "idempotency_key": "x",
        "created_at": "2000-01-01T00:00:00Z",
    }
    response = auth_client.post("/api/searches", json=body, headers=team.auth("bob"))
    assert response.status_code == 201
    created = response.json()
    assert created["status"] == "queued" and created["id"] != 777
    assert created["created_at"] != "2000-01-01T00:00:00Z"
    with team.db.read() as session:
        row = session.get(Search, created["id"])
        assert row is not None
        assert row.owner_id == team.ids["bob"]
        assert row.idempotency_key is None
    # alice cannot see it: the owner field in the body did nothing.
    assert (
        auth_client.get(f"/api/searches/{created['id']}", headers=team.auth("alice")).status_code
        == 404
    )


@pytest.fixture
def single_user_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def test_auth_off_is_single_user(single_user_client: TestClient) -> None:
    me = single_user_client.get("/api/auth/me").json()
    assert me == {
        "id": None,
        "name": None,
        "is_admin": True,
        "method": "off",
        "auth_required": False,
    }
    assert single_user_client.get("/", follow_redirects=False).status_code == 200


def test_cookie_writes_behind_a_proxy_match_the_forwarded_host(
    auth_client: TestClient, team: Team
) -> None:
    _login(auth_client, "alice", "alice-password")
    proxied = {"Origin": "https://nas.example", "X-Forwarded-Host": "nas.example"}
    assert auth_client.post("/api/searches", json=SEARCH, headers=proxied).status_code == 201
    elsewhere = {"Origin": "https://evil.example", "X-Forwarded-Host": "nas.example"}
    assert auth_client.post("/api/searches", json=SEARCH, headers=elsewhere).status_code == 403
