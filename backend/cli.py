"""``nasboard``: serve the dashboard, run workers, migrate, and drive searches from a shell."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote

import httpx
import typer
import yaml
from tqdm import tqdm

from backend.core import child
from backend.core.config import get_settings
from backend.core.logging import configure
from backend.core.sse import parse_sse
from backend.watch_progress import SearchProgress

app = typer.Typer(help="Run and watch neural architecture searches.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
user_app = typer.Typer(help="Accounts (for NASBOARD_AUTH=required).", no_args_is_help=True)
app.add_typer(user_app, name="user")
token_app = typer.Typer(help="API tokens: `Authorization: Bearer <token>`.", no_args_is_help=True)
app.add_typer(token_app, name="token")

UrlOpt = Annotated[
    str, typer.Option("--url", envvar="NASBOARD_URL", help="The nasboard server to talk to")
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="NASBOARD_TOKEN",
        help="API token (from `nasboard token create`) when the server requires sign-in",
    ),
]
DEFAULT_URL = "http://127.0.0.1:8000"
# The quick start's search: long enough (6 epochs of 34 batches) that digits' candidates learn,
# so the charts show the population climbing past the seed CNN in about a minute on 2 cores;
# at 2 epochs of 17 batches most candidates stayed at chance and the best below the seed CNN.
DEMO_SEARCH: dict[str, Any] = {
    "name": "demo: digits, evolution",
    "dataset": "digits",
    "strategy": "evolution",
    "population_size": 6,
    "generations": 3,
    "epochs_per_candidate": 6,
    "batch_size": 32,
    "seed": 7,
}


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision``."""
    from backend.db.migrate import upgrade

    upgrade(get_settings().resolved_database_url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str = "base") -> None:
    from backend.db.migrate import downgrade

    downgrade(get_settings().resolved_database_url, revision)
    typer.echo(f"database at {revision}")


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _database() -> Any:
    from backend.db.session import get_database

    return get_database(get_settings().resolved_database_url)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@user_app.command("create")
def user_create(
    name: str,
    admin: Annotated[
        bool, typer.Option("--admin", help="Sees and manages everyone's work")
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="API tokens only, no dashboard sign-in")
    ] = False,
) -> None:
    """Create user NAME (asks for the dashboard password unless --password-stdin)."""
    from backend.services import users
    from backend.services.errors import Conflict

    password = None if no_password else _read_password(password_stdin)
    try:
        user_id = users.create_user(_database(), name, password=password, is_admin=admin)
    except (ValueError, Conflict) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"user {name} created (id {user_id}{', admin' if admin else ''})")


@user_app.command("password")
def user_password(
    name: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Set NAME's dashboard password (ends their sessions)."""
    from backend.services import users
    from backend.services.errors import NotFound

    try:
        users.set_password(_database(), name, _read_password(password_stdin))
    except (ValueError, NotFound) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"password of {name} set")


@user_app.command("disable")
def user_disable(
    name: str,
    enable: Annotated[bool, typer.Option("--enable", help="Enable again instead")] = False,
) -> None:
    """Disable NAME: their tokens and sessions stop working at once (their work is kept)."""
    from backend.services import users
    from backend.services.errors import NotFound

    try:
        users.set_disabled(_database(), name, not enable)
    except NotFound as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"user {name} {'enabled' if enable else 'disabled'}")


@user_app.command("list")
def user_list() -> None:
    from backend.services import users

    for user in users.list_users(_database()):
        flags = [f for f, on in (("admin", user.is_admin), ("disabled", user.disabled)) if on]
        login = "password" if user.password_hash else "tokens only"
        typer.echo(f"{user.id}\t{user.name}\t{login}\t{','.join(flags)}")


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Argument(help="The user the token acts as")],
    name: Annotated[str, typer.Option("--name", help="A label, e.g. the machine")] = "",
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", min=1, help="Expire after N days")
    ] = None,
) -> None:
    """Print a new API token for USER, once; only its hash is stored."""
    from datetime import timedelta

    from backend.services import users
    from backend.services.errors import NotFound

    expires = timedelta(days=expires_days) if expires_days else None
    try:
        token_id, token = users.create_token(_database(), user, name=name, expires_in=expires)
    except NotFound as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"token {token_id} for {user} (shown once; keep it secret):", err=True)
    typer.echo(token)


@token_app.command("list")
def token_list(user: Annotated[str | None, typer.Argument()] = None) -> None:
    """Tokens (id, user, label, prefix, state); never the tokens themselves."""
    from backend.services import users

    for t in users.list_tokens(_database(), user):
        state = "revoked" if t.revoked_at else "live"
        last = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never"
        typer.echo(f"{t.id}\t{t.user}\t{t.name or '-'}\t{t.prefix}…\t{state}\tlast used {last}")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[
        int | None, typer.Argument(help="The token's id (see `token list`)")
    ] = None,
    all_of: Annotated[
        str | None, typer.Option("--all-of", help="Revoke every token of this user")
    ] = None,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Read the token itself from standard input")
    ] = False,
) -> None:
    """Revoke a token by id, by value (--token-stdin) or all of a user's (--all-of)."""
    from backend.services import users
    from backend.services.errors import NotFound

    db = _database()
    try:
        if all_of is not None:
            count = users.revoke_user_tokens(db, all_of)
            typer.echo(f"{count} token(s) of {all_of} revoked")
            return
        if token_stdin:
            revoked = users.revoke_token(db, token=sys.stdin.readline().strip())
        elif token_id is not None:
            revoked = users.revoke_token(db, token_id=token_id)
        else:
            typer.echo("error: give a token id, --token-stdin or --all-of USER", err=True)
            raise typer.Exit(2)
    except NotFound as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"token {revoked} revoked")


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def worker_argv(concurrency: int, name: str = "nasboard") -> list[str]:
    """The real ``celery worker`` command line both `worker` and the embedded worker use."""
    pool = "solo" if concurrency == 1 else "prefork"
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker.celery_app",
        "worker",
        "-Q",
        "nasboard",
        "--pool",
        pool,
        "--concurrency",
        str(concurrency),
        "--hostname",
        f"{name}-{os.getpid()}@%h",
        "--without-mingle",
        "--without-gossip",
        "--loglevel",
        get_settings().log_level,
    ]


def worker_env(concurrency: int) -> dict[str, str]:
    env = dict(os.environ)
    if "NASBOARD_TF_THREADS" not in env:
        # Avoid oversubscription when several candidates train at once on CPU.
        env["NASBOARD_TF_THREADS"] = str(max(1, (os.cpu_count() or 1) // concurrency))
    return env


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Candidates trained at once")] = 1,
) -> None:
    """Start a Celery worker against the configured broker and database."""
    argv = worker_argv(concurrency)
    os.execve(sys.executable, argv, worker_env(concurrency))


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="NASBOARD_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="NASBOARD_PORT")] = 8000,
    embedded_worker: Annotated[
        bool, typer.Option(help="Start a worker beside the API (default with the embedded broker)")
    ] = True,
    demo: Annotated[bool, typer.Option(help="Submit a demo search on digits once up")] = False,
    migrate: Annotated[bool, typer.Option(help="Upgrade the schema before serving")] = True,
) -> None:
    """Serve the dashboard and API; with the embedded default, also run a worker process.

    Any address but a loopback one needs NASBOARD_AUTH=required."""
    if not get_settings().auth_required and not is_loopback(host):
        typer.echo(
            f"error: refusing to serve on {host!r} without authentication: anyone who can reach "
            "it could run and read searches. Set NASBOARD_AUTH=required (and create a user: "
            "`nasboard user create NAME --admin`), or serve on 127.0.0.1.",
            err=True,
        )
        raise typer.Exit(2)
    import uvicorn

    from backend.api.app import create_app
    from backend.db.migrate import upgrade

    settings = get_settings()
    configure(settings.log_level)
    if migrate:
        upgrade(settings.resolved_database_url)
    proc = None
    if embedded_worker and settings.embedded_broker:
        child.exit_on_sigterm()  # so `finally` below stops the worker on `kill` too
        proc = child.start(worker_argv(1, "embedded"), worker_env(1))
    if settings.auth_required:
        from backend.services import users

        if not users.has_users(_database()):
            typer.echo(
                "warning: authentication is required but there are no users yet: "
                "run `nasboard user create NAME --admin`",
                err=True,
            )
        if demo:
            typer.echo("note: --demo is skipped when authentication is required", err=True)
            demo = False
    if demo:
        threading.Thread(target=_submit_demo, args=(f"http://{host}:{port}",), daemon=True).start()
    typer.echo(f"nasboard: http://{host}:{port}  (database {settings.resolved_database_url})")
    try:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    finally:
        if proc is not None:
            child.stop(proc)


def _submit_demo(url: str) -> None:
    for _ in range(100):
        try:
            response = httpx.post(f"{url}/api/searches", json=DEMO_SEARCH, timeout=5)
            typer.echo(f"demo search submitted: {url}/searches/{response.json()['id']}")
            return
        except httpx.HTTPError:
            time.sleep(0.2)


def _load_spec(path: Path) -> dict[str, Any]:
    text = path.read_text()
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path} must hold one search object")
    return data


@app.command()
def submit(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Search as JSON/YAML")],
    url: UrlOpt = DEFAULT_URL,
    watch_it: Annotated[bool, typer.Option("--watch", help="Follow it until it ends")] = False,
    token: TokenOpt = None,
) -> None:
    """Submit a search described in FILE."""
    response = httpx.post(
        f"{url}/api/searches", json=_load_spec(file), headers=_auth(token), timeout=30
    )
    if response.status_code != 201:
        typer.echo(f"rejected ({response.status_code}): {response.text}", err=True)
        raise typer.Exit(1)
    search = response.json()
    typer.echo(f"search {search['id']} {search['status']}: {url}/searches/{search['id']}")
    if watch_it:
        watch(search["id"], url, token)


def sse_events(url: str, after: int = 0, token: str | None = None) -> Any:
    """Yield (id, type, data) from an SSE stream, reconnecting with Last-Event-ID."""
    last = after
    while True:
        headers = {"Last-Event-ID": str(last)} if last else {}
        headers.update(_auth(token))
        try:
            with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(5, read=60)) as r:
                r.raise_for_status()
                for message in parse_sse(r.iter_lines()):
                    if message.type == "end":
                        return
                    if message.id is not None:
                        last = message.id
                        yield message.id, message.type, message.data
        except (httpx.TransportError, httpx.HTTPStatusError) as exc:
            if isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code < 500:
                raise
            time.sleep(1)


@app.command()
def watch(search_id: int, url: UrlOpt = DEFAULT_URL, token: TokenOpt = None) -> None:
    """Follow a search live: a progress bar per generation, then the best accuracy."""
    search = httpx.get(f"{url}/api/searches/{search_id}", headers=_auth(token), timeout=10)
    if search.status_code == 404:
        typer.echo(f"search {search_id} not found", err=True)
        raise typer.Exit(1)
    if search.status_code == 401:
        typer.echo("the server requires a token: --token or NASBOARD_TOKEN", err=True)
        raise typer.Exit(1)

    def count(generation: int) -> int:
        response = httpx.get(
            f"{url}/api/searches/{search_id}/candidates",
            params={"generation": generation, "limit": 1},
            headers=_auth(token),
            timeout=10,
        )
        return int(response.json()["count"]) if response.status_code == 200 else 0

    progress = SearchProgress(count, final_epochs=search.json()["config"].get("final_epochs"))
    final = None
    for _, type_, data in sse_events(f"{url}/api/searches/{search_id}/events", token=token):
        progress.feed(type_, data)
        if type_ == "search_finished":
            final = data
    progress.close()
    if final is None:
        final = httpx.get(
            f"{url}/api/searches/{search_id}", headers=_auth(token), timeout=10
        ).json()
    status = final.get("status")
    best = final.get("best_val_accuracy")
    test = (final.get("final") or {}).get("test_accuracy")
    typer.echo(
        f"search {search_id} {status}: best val accuracy "
        f"{best if best is None else f'{best:.4f}'}, test accuracy "
        f"{test if test is None else f'{test:.4f}'}"
    )
    if status != "succeeded":
        raise typer.Exit(1)


class ModelFormat(StrEnum):
    keras = "keras"
    savedmodel = "savedmodel"
    tflite = "tflite"


def _server_filename(disposition: str) -> str | None:
    """The file name the server chose (Content-Disposition), reduced to a bare name."""
    match = re.search(r"filename\*=utf-8''([^;]+)", disposition, re.I) or re.search(
        r'filename="?([^";]+)"?', disposition, re.I
    )
    if not match:
        return None
    name = Path(unquote(match.group(1))).name
    return name if name and name not in (".", "..") else None


@app.command()
def download(
    search_id: int,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    format: Annotated[ModelFormat, typer.Option("--format")] = ModelFormat.keras,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
) -> None:
    """Download a search's best model (keras, savedmodel zip, tflite) with a progress bar;
    the file's sha256 is checked against the server's before it is kept."""
    with httpx.stream(
        "GET",
        f"{url}/api/searches/{search_id}/model",
        params={"format": format.value},
        headers=_auth(token),
        timeout=httpx.Timeout(60, read=300),
    ) as response:
        if response.status_code != 200:
            response.read()
            typer.echo(f"{response.status_code}: {response.text}", err=True)
            raise typer.Exit(1)
        name = _server_filename(response.headers.get("content-disposition", ""))
        target = output or Path(name or f"search{search_id}-best.{format.value}")
        expected = response.headers.get("x-checksum-sha256") or response.headers.get(
            "etag", ""
        ).strip('"')
        total = int(response.headers.get("content-length", 0)) or None
        partial = target.with_name(f".{target.name}.part")
        digest = hashlib.sha256()
        try:
            with (
                partial.open("wb") as handle,
                tqdm(total=total, unit="B", unit_scale=True, desc=target.name) as bar,
            ):
                for chunk in response.iter_bytes():
                    handle.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
            if expected and digest.hexdigest() != expected:
                typer.echo(
                    f"checksum mismatch: got {digest.hexdigest()}, server said {expected}",
                    err=True,
                )
                raise typer.Exit(1)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    typer.echo(f"saved {target} (sha256 {digest.hexdigest()})")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
