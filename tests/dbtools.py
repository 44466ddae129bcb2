# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A fresh database with a module activated, for the tests of this folder
that need their own (several processes, a real server), and trytond
serving it over HTTP."""
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from functools import partial
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / 'var'


def activate(module, name):
    "Activate module in a database called name (cached like the tests)"
    from trytond.tests import test_tryton

    # activate_module works on DB_NAME (and create_db's default, bound when
    # it was defined); point both at our name so the cache of the module's
    # own tests (DB_CACHE) is shared.
    with mock.patch.object(test_tryton, 'DB_NAME', name), \
            mock.patch.object(test_tryton, 'create_db',
                partial(test_tryton.create_db, name)):
        test_tryton.activate_module(module)


@contextlib.contextmanager
def fresh_database(module, prefix):
    """Yield the name and proteus configuration of a new database with
    module activated; drop it afterwards"""
    from proteus import config as pconfig
    from trytond.tests.test_tryton import drop_db

    name = f'{prefix}_{uuid.uuid4().hex[:12]}'
    environ = os.environ.get('TRYTOND_DATABASE_URI')
    current = getattr(pconfig._CONFIG, 'current', None)
    try:
        activate(module, name)
        yield name, pconfig.set_trytond(database=name)
    finally:
        # set_trytond writes the database name into TRYTOND_DATABASE_URI:
        # restored for the tests that follow.
        if environ is None:
            os.environ.pop('TRYTOND_DATABASE_URI', None)
        else:
            os.environ['TRYTOND_DATABASE_URI'] = environ
        pconfig._CONFIG.current = current
        drop_db(name)


def run_together(target, args, timeout):
    """Run target(*a, barrier, gate, results) for each a of args in as many
    spawned processes at once; return their results, sorted by outcome.

    The workers wait at barrier before acting and may hold each other at
    gate; each puts one dictionary with an 'outcome' in results."""
    import multiprocessing
    import queue

    import pytest

    context = multiprocessing.get_context('spawn')
    barrier = context.Barrier(len(args))
    gate = context.Barrier(len(args))
    results = context.Queue()
    workers = [context.Process(target=target, daemon=True,
            args=(*a, barrier, gate, results)) for a in args]
    for worker in workers:
        worker.start()
    try:
        outcomes = []
        for _ in workers:
            try:
                outcomes.append(results.get(timeout=timeout))
            except queue.Empty:
                pytest.fail(f"a worker gave no result in {timeout} s "
                    f"(exit codes {[w.exitcode for w in workers]})")
        for worker in workers:
            worker.join(timeout=30)
        print("outcomes:", outcomes)
        return sorted(outcomes, key=lambda o: o['outcome'])
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
                worker.join()
        results.close()


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def log_tail(log, lines=40):
    "The last lines of a server's log, to explain a failure"
    if not log.exists():
        return "(no log)"
    text = log.read_text(errors='replace').splitlines()[-lines:]
    return f"--- tail of {log} ---\n" + "\n".join(text)


@contextlib.contextmanager
def serve(name, path, log):
    """Serve database name (SQLite files in path) with trytond over HTTP,
    its output in log; yield its URL"""
    import pytest

    port = free_port()
    VAR.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.pop('TRYTOND_CONFIG', None)
    uri = os.environ.get('TRYTOND_DATABASE_URI', '')
    if uri.startswith('postgresql'):
        env['TRYTOND_DATABASE_URI'] = uri
    else:
        env.pop('TRYTOND_DATABASE_URI', None)
    # The SQLite file is where the test process made it.
    env['TRYTOND_DATABASE__PATH'] = path
    # Per database, like tests/test_browser.py: the listening port.
    conf = VAR / f'{name}-trytond.conf'
    conf.write_text(f"[web]\nlisten = 127.0.0.1:{port}\n"
        "[cache]\nclean_timeout = 0\n")
    url = f'http://127.0.0.1:{port}/'
    # -d loads the database's pool at start-up: trytond 8.0.12 answers a
    # first login to a database it has not loaded with KeyError 'res.user'.
    with log.open('w') as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / 'trytond'),
                '-c', str(conf), '-d', name],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_loaded(url, name, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        conf.unlink(missing_ok=True)


def wait_loaded(url, name, process, log, timeout=300):
    """Wait until trytond at url answers a login to database name.

    It listens before the pool of -d is loaded (a thread): a first login
    then waits for the load, which a loaded machine makes longer than a
    browser's patience.  A login without a password is answered by asking
    for it (no failed attempt is counted) once the pool is there."""
    import json
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(f'{url}{name}/rpc/',
        data=json.dumps({'id': 0, 'method': 'common.db.login',
                'params': ['admin', {}, 'en']}).encode(),
        headers={'Content-Type': 'application/json'})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                json.load(response)
            return
        except (OSError, ValueError):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"trytond did not answer a login to {name} on "
                    f"{url}\n" + log_tail(log))
            time.sleep(0.5)


def demo(*args, env=None, log=None, timeout=1800):
    """Run scripts/demo with args, its output appended to log; its exit code
    (the limit leaves room for both backends' builds at once on 2 cores)"""
    with open(log, 'a') if log else contextlib.nullcontext() as output:
        return subprocess.run([sys.executable, 'scripts/demo', *args],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
            timeout=timeout).returncode


def build_demo(name, env, log):
    """Build the demo database name unless it is built and current; return
    its credentials {login: password}"""
    import pytest

    VAR.mkdir(exist_ok=True)
    log.write_text('')
    if demo('exists', name, env=env, log=log):
        # Start over like scripts/run: a half-built database is useless.
        demo('drop', name, env=env, log=log)
        if demo('create', name, env=env, log=log):
            demo('drop', name, env=env)
            pytest.fail(f"creating {name} failed\n" + log_tail(log))
    return credentials(name)


def credentials(name):
    "The demo logins and passwords of database name"
    return dict(line.split() for line in
        (VAR / f'{name}-credentials.txt').read_text().splitlines())


class Served(str):
    "The URL of a server; pid: the process of scripts/serve"
    pid = None


def children(pid):
    "The pids of the running children of pid (from /proc)"
    result = []
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / 'stat').read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces
        state, ppid = stat[stat.rindex(')') + 2:].split()[:2]
        if int(ppid) == pid and state != 'Z':
            result.append(int(entry.name))
    return sorted(result)


def service(supervisor, name):
    """The pid of scripts/serve's service name (gunicorn, trytond-worker,
    trytond-cron), or None"""
    for pid in children(supervisor):
        try:
            command = Path(f'/proc/{pid}/cmdline').read_bytes().split(b'\0')
            stat = Path(f'/proc/{pid}/stat').read_text()
        except OSError:
            continue
        # A service leads its process group (its forked task processes,
        # orphans the script adopts, have the same command line)
        if int(stat[stat.rindex(')') + 2:].split()[2]) != pid:
            continue
        # The interpreter first: the script is the next argument
        if any(c.endswith(f'/{name}'.encode()) for c in command[:2]):
            return pid


@contextlib.contextmanager
def production(name, log_dir, workers=2, env=None):
    """Serve database name as production does, with scripts/serve
    (gunicorn, trytond-worker, trytond-cron) on PostgreSQL, env added to
    its environment; yield its URL (Served: with the script's pid)"""
    import pytest

    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, **(env or {}))
    for variable in ['TRYTOND_CONFIG', 'TRYTOND_DATABASE__URI',
            'TRYTOND_DATABASE_NAMES', 'DB_NAME', 'DB_CACHE']:
        env.pop(variable, None)
    url = Served(f'http://127.0.0.1:{port}/')
    with (log_dir / 'serve.log').open('w') as output:
        process = subprocess.Popen([str(ROOT / 'scripts' / 'serve'),
                '--workers', str(workers), '--bind', f'127.0.0.1:{port}',
                '--log-dir', str(log_dir), name],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True)
    url.pid = process.pid
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f'{url}health', timeout=5).close()
                break
            except urllib.error.HTTPError:
                pass  # not ready yet (503)
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("scripts/serve did not answer\n"
                    + log_tail(log_dir / 'serve.log'))
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


class RPCError(Exception):
    """The server's error: its name (UserError, which AccessError is; or
    Forbidden for HTTP 403) and its arguments"""

    @property
    def name(self):
        return self.args[0] if self.args else None

    @property
    def message(self):
        args = self.args[1] if len(self.args) > 1 else None
        if isinstance(args, list) and args:
            return str(args[0])
        return str(args)


class RPCClient:
    "A JSON-RPC session as the Tryton clients open it"

    def __init__(self, url, database, login, password, log=None):
        import base64
        self.url = f'{url}{database}/rpc/'
        self.log = log
        self.login = login
        self.authorization = None
        self.counter = 0
        self.user_id, session = self.call('common.db.login', login,
            {'password': password}, 'en')[:2]
        token = base64.b64encode(
            f'{login}:{self.user_id}:{session}'.encode()).decode()
        self.authorization = f'Session {token}'
        self.context = self.call('model.res.user.get_preferences', True, {})

    def call(self, method, *params):
        import json
        self.counter += 1
        request = urllib.request.Request(self.url, data=json.dumps({
                    'id': self.counter, 'method': method,
                    'params': list(params)}).encode(),
            headers={'Content-Type': 'application/json'})
        if self.authorization:
            request.add_header('Authorization', self.authorization)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as error:
            if error.code == 403:
                # JSON-RPC serves no such method of the model (those
                # without views: relations, running totals, sessions)
                raise RPCError('Forbidden', [method]) from error
            raise AssertionError(f"{method}: HTTP {error.code}\n"
                + (log_tail(self.log) if self.log else '')) from error
        if 'error' in answer:
            raise RPCError(*answer['error'])
        return answer['result']

    def model(self, model, method, *params):
        return self.call(f'model.{model}.{method}', *params, self.context)

    __call__ = model

    def read(self, model, ids, fields):
        return self.model(model, 'read', ids, fields)

    def search(self, model, domain, limit=None):
        return self.model(model, 'search', domain, 0, limit, None)

    def export(self, model, ids, fields):
        return self.model(model, 'export_data', ids, fields)

    def report(self, name, ids, model):
        return self.call(f'report.{name}.execute', ids,
            {'model': model, 'id': ids[0], 'ids': ids}, self.context)
