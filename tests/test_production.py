# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The production shape, scripts/serve, on PostgreSQL.

A fresh database with relief activated is served by scripts/serve with two
gunicorn workers on a free port, trytond-worker and trytond-cron; the test
speaks JSON-RPC to it as a client does (POST /<database>/rpc/
common.db.login) and reads which gunicorn worker answered each request in
gunicorn's access log (GUNICORN_CMD_ARGS, the worker's pid).

- the very first request is a login, and it succeeds; logins from fresh
  connections, a few at once, reach both workers, and every worker's
  first request is a login that succeeds (trytond 8.0 answers those with
  {"error": ["'res.user'", ""]} unless the pools are preloaded,
  TRYTOND_DATABASE_NAMES);
- GET /health answers 200 {"status": "ok"}; and 503 {"status":
  "unavailable"}, nothing else, when the process holds no loaded pool or
  the database refuses connections (then 200 again when it accepts them),
  through the WSGI application in this process;
- a gunicorn worker killed with SIGKILL is respawned and the new worker's
  logins succeed, its first request included;
- trytond-worker and trytond-cron killed with SIGKILL are started again by
  the script, and the process each left (its task process) is gone;
- SIGTERM stops the script and leaves no process behind.

PostgreSQL only (the production shape; several processes on SQLite are not
supported): skipped unless TRYTOND_DATABASE_URI is postgresql://..., as
scripts/test sets it."""
import json
import os
import shlex
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import pytest

from dbtools import free_port, fresh_database, log_tail

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
# Read before proteus.set_trytond writes the database name into it
URI = os.environ.get("TRYTOND_DATABASE_URI", "")
pytestmark = pytest.mark.skipif(
    not URI.startswith("postgresql"),
    reason="the production shape runs on PostgreSQL only "
    "(TRYTOND_DATABASE_URI=postgresql://...)")

MODULE = "relief"
WORKERS = 2
PASSWORD = "Adm1n-production-Kw9"
LOGS = VAR / "production"
ACCESS_LOG = LOGS / "access.log"
SERVE_LOG = LOGS / "serve.log"
# From starting scripts/serve to its first answer (pools loaded by each
# worker; a reinstall of .venv when setup.cfg changed)
START = 240
# For a respawned or restarted process to be up and serving
RECOVER = 90
# The script stops gracefully: gunicorn's graceful timeout (30 s) and more
STOP = 60


def _logs():
    return "\n".join(log_tail(LOGS / f"{name}.log", 20) for name in
        ["serve", "gunicorn", "trytond-worker", "trytond-cron"])


# -- processes, from /proc

def _processes():
    "{pid: (ppid, pgid, state, command line)} of every process"
    result = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces
        fields = stat[stat.rindex(")") + 2:].split()
        result[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0],
            cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return result


def _alive(pid):
    "Whether pid runs (a zombie has ended)"
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _children(pid, processes=None):
    processes = processes or _processes()
    return {p: cmd for p, (ppid, _, state, cmd) in processes.items()
        if ppid == pid and state != "Z"}


def _services(supervisor):
    """{'gunicorn': pid, 'trytond-worker': pid, 'trytond-cron': pid} of the
    script's running children that lead their process group (the script
    reaps the orphans of a killed service: children of its own too)"""
    result = {}
    for pid, (ppid, pgid, state, command) in _processes().items():
        if ppid != supervisor or pgid != pid or state == "Z":
            continue
        for name in ["gunicorn", "trytond-worker", "trytond-cron"]:
            if f"/{name} " in command:
                result[name] = pid
    return result


def _group(pgid):
    "The running processes of process group pgid"
    return {pid for pid, (_, group, state, _) in _processes().items()
        if group == pgid and state != "Z"}


def _wait(what, check, timeout):
    "Poll check() until it returns something true; return it"
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s\n{_logs()}")
        time.sleep(0.2)


# -- HTTP

def login(url, database, timeout=120):
    "common.db.login as admin from a fresh connection: the server's answer"
    request = urllib.request.Request(f"{url}{database}/rpc/",
        data=json.dumps({"id": 1, "method": "common.db.login",
                "params": ["admin", {"password": PASSWORD}, "en"]}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


def _logged_in(answer):
    result = answer.get("result")
    return (isinstance(result, list) and len(result) >= 2
        and isinstance(result[0], int) and result[1])


def _served():
    """The access log: [(worker pid, method, path, status)] in order"""
    if not ACCESS_LOG.exists():
        return []
    lines = []
    for line in ACCESS_LOG.read_text().splitlines():
        pid, method, path, status = line.split()
        lines.append((int(pid.strip("<>")), method, path, status))
    return lines


def _login_rounds(url, database, workers, timeout):
    """Log in, four at once from fresh connections, until each of workers
    (pids) has answered a login; every login must succeed"""
    rpc = f"/{database}/rpc/"
    deadline = time.monotonic() + timeout
    count = 0
    with ThreadPoolExecutor(4) as executor:
        while True:
            answers = list(executor.map(
                    lambda _: login(url, database), range(4)))
            count += len(answers)
            failed = [a for a in answers if not _logged_in(a)]
            assert not failed, f"logins failed: {failed}\n{_logs()}"
            served = {pid for pid, method, path, _ in _served()
                if method == "POST" and path == rpc}
            if set(workers) <= served:
                return count
            if time.monotonic() > deadline:
                pytest.fail(f"after {count} logins in {timeout} s, workers "
                    f"{set(workers) - served} answered none\n{_logs()}")


def _first_requests(workers):
    "{worker pid: (method, path) of its first request}"
    first = {}
    for pid, method, path, _ in _served():
        if pid in workers:
            first.setdefault(pid, (method, path))
    return first


# -- fixtures

@pytest.fixture(scope="module")
def database():
    "A database with relief activated and admin's password set"
    with fresh_database(MODULE, "relief_production") as (name, cfg):
        from proteus import Model
        User = Model.get("res.user")
        admin = User(cfg.user)
        admin.password = PASSWORD
        admin.save()
        yield name


@pytest.fixture(scope="module")
def serve(database):
    """scripts/serve on the database with WORKERS gunicorn workers; yield
    its process and URL; stopped (and everything it started killed) at the
    end if the test did not stop it"""
    port = free_port()
    LOGS.mkdir(parents=True, exist_ok=True)
    for log in LOGS.glob("*.log"):
        log.unlink()
    env = dict(os.environ, TRYTOND_DATABASE_URI=URI,
        # Which worker answered: its pid in the access log
        GUNICORN_CMD_ARGS=shlex.join(["--access-logfile", str(ACCESS_LOG),
                "--access-logformat", "%(p)s %(m)s %(U)s %(s)s"]))
    for name in ["TRYTOND_CONFIG", "TRYTOND_DATABASE__URI",
            "TRYTOND_DATABASE_NAMES", "DB_NAME", "DB_CACHE"]:
        env.pop(name, None)
    with SERVE_LOG.open("w") as output:
        process = subprocess.Popen(
            [str(ROOT / "scripts" / "serve"), "--workers", str(WORKERS),
                "--bind", f"127.0.0.1:{port}", "--log-dir", str(LOGS),
                database],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    groups = set()
    try:
        yield {"process": process, "url": f"http://127.0.0.1:{port}/",
            "port": port, "database": database, "groups": groups}
    finally:
        if process.poll() is None:
            groups.update(_services(process.pid).values())
            process.terminate()
            try:
                process.wait(timeout=STOP)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for group in groups:
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _first_answer(serve):
    "The first request: a login, sent until gunicorn listens"
    deadline = time.monotonic() + START
    while True:
        try:
            return login(serve["url"], serve["database"])
        except urllib.error.URLError as error:
            if not isinstance(error.reason, ConnectionRefusedError):
                raise
        except ConnectionRefusedError:
            pass
        if serve["process"].poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"scripts/serve did not listen\n{_logs()}")
        time.sleep(0.3)


# -- the tests, in order: they follow one running scripts/serve

def test_first_logins(serve):
    "The first request, a login, and each worker's first login succeed"
    started = time.monotonic()
    answer = _first_answer(serve)
    assert _logged_in(answer), f"{answer}\n{_logs()}"
    supervisor = serve["process"].pid
    services = _wait("gunicorn, trytond-worker and trytond-cron running",
        lambda: (s := _services(supervisor)) and len(s) == 3 and s, 30)
    serve["groups"].update(services.values())
    workers = _wait(f"{WORKERS} gunicorn workers",
        lambda: (w := _children(services["gunicorn"]))
        and len(w) == WORKERS and w, 30)
    count = _login_rounds(serve["url"], serve["database"], workers, 60)
    rpc = ("POST", f"/{serve['database']}/rpc/")
    assert _first_requests(workers) == {pid: rpc for pid in workers}
    print(f"first answer and {count} logins over {WORKERS} workers "
        f"in {time.monotonic() - started:.1f} s")


def test_health(serve):
    "GET /health: 200 and a tiny JSON body, no authentication"
    with urllib.request.urlopen(f"{serve['url']}health", timeout=30) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "application/json"
        assert r.headers["Cache-Control"] == "no-store"
        assert json.load(r) == {"status": "ok"}
    request = urllib.request.Request(f"{serve['url']}health", method="HEAD")
    with urllib.request.urlopen(request, timeout=30) as r:
        assert r.status == 200


def _health(database_list):
    """GET /health through the WSGI application of this process, which
    knows database_list: status and body"""
    from trytond.pool import Pool
    from trytond.wsgi import app
    from werkzeug.test import Client

    with mock.patch.object(Pool, "database_list", return_value=database_list):
        response = Client(app).get("/health")
    return response.status_code, response.get_data()


OK = (200, b'{"status": "ok"}')
UNAVAILABLE = (503, b'{"status": "unavailable"}')


def test_health_without_pool(database):
    """503 when the process holds no pool, or a pool that is known but not
    loaded (what a first login leaves in trytond 8.0)"""
    from trytond.pool import Pool

    # Other tests of this process may have left pools of dropped databases
    assert _health([database]) == OK
    assert _health([]) == UNAVAILABLE
    unloaded = "relief_production_unloaded"
    try:
        assert _health([database, unloaded]) == UNAVAILABLE
    finally:
        Pool.stop(unloaded)


def test_gunicorn_worker_respawned(serve):
    "A gunicorn worker killed with SIGKILL is replaced; logins succeed"
    gunicorn = _services(serve["process"].pid)["gunicorn"]
    before = _children(gunicorn)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    workers = _wait("gunicorn respawns its worker",
        lambda: (w := _children(gunicorn)) and len(w) == WORKERS
        and victim not in w and w, RECOVER)
    new, = set(workers) - set(before)
    assert not _alive(victim)
    count = _login_rounds(serve["url"], serve["database"], [new], RECOVER)
    assert _first_requests([new]) == {
        new: ("POST", f"/{serve['database']}/rpc/")}
    print(f"respawned worker {new} reached after {count} logins")


@pytest.mark.parametrize("name", ["trytond-worker", "trytond-cron"])
def test_restarted(serve, name):
    """trytond-worker or trytond-cron killed with SIGKILL is started again,
    and what it left (its task process) is gone"""
    supervisor = serve["process"].pid
    old = _services(supervisor)[name]
    # Its task process (-n 1), started with it
    _wait(f"{name}'s task process", lambda: _children(old), RECOVER)
    group = _group(old)
    os.kill(old, signal.SIGKILL)
    new = _wait(f"{name} started again",
        lambda: (pid := _services(supervisor).get(name)) != old and pid,
        RECOVER)
    serve["groups"].add(new)
    _wait(f"the processes of the killed {name} gone",
        lambda: not any(_alive(p) for p in group), 10)
    # Up: its configuration read, its task process started
    _wait(f"the new {name}'s task process", lambda: _children(new), RECOVER)
    assert _alive(new)


def test_health_after_restarts(serve):
    with urllib.request.urlopen(f"{serve['url']}health", timeout=30) as r:
        assert json.load(r) == {"status": "ok"}
    assert _logged_in(login(serve["url"], serve["database"]))


def test_stop(serve):
    "SIGTERM stops the script and every process it started"
    process = serve["process"]
    supervisor = process.pid
    services = _services(supervisor)
    assert set(services) == {"gunicorn", "trytond-worker", "trytond-cron"}
    serve["groups"].update(services.values())
    pids = {supervisor} | set().union(
        *(_group(pgid) for pgid in serve["groups"]))
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=STOP)
    except subprocess.TimeoutExpired:
        pytest.fail(f"scripts/serve still runs {STOP} s after SIGTERM\n"
            + _logs())
    assert code == 0, _logs()
    left = {pid for pid in pids if _alive(pid)}
    left |= set().union(*(_group(pgid) for pgid in serve["groups"]))
    assert not left, f"processes left: {left}\n{_logs()}"
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{serve['url']}health", timeout=5)
    print(f"stopped in {time.monotonic() - started:.1f} s")


def test_health_database_down(database):
    """503 within seconds when the database refuses connections, 200 again
    when it is back (in this process, once scripts/serve is stopped)"""
    import psycopg
    from psycopg import sql

    admin = psycopg.connect(urllib.parse.urlsplit(URI)._replace(
            path="/postgres").geturl(), autocommit=True)

    def allow(value):
        admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                sql.Identifier(database), sql.Literal(value)))

    with admin:
        assert _health([database]) == OK
        allow(False)
        try:
            admin.execute("SELECT pg_terminate_backend(pid) "
                "FROM pg_stat_activity WHERE datname = %s", (database,))
            started = time.monotonic()
            assert _health([database]) == UNAVAILABLE
            assert time.monotonic() - started < 10, "the wait is bounded"
        finally:
            allow(True)
    _wait("/health answers 200 again",
        lambda: _health([database]) == OK, 30)
