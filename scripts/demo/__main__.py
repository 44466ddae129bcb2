# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The demo database: create it, fill it, drop it.

    python scripts/demo exists DB   exit 0 when DB is set up with demo data
    python scripts/demo create DB   create, activate every relief module, load
    python scripts/demo drop DB
    python scripts/demo credentials DB
    python scripts/demo copy DB NEW  a copy of DB (its passwords too)

Each relief module that has demo data has a loader here named after it
(relief.py, relief_certification.py, ...), run in dependency order."""
import hashlib
import importlib
import os
import secrets
import subprocess
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'config' / 'trytond.conf'
VAR = ROOT / 'var'
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault('TRYTOND_DATABASE__PATH', str(VAR / 'db'))


def modules():
    "The relief modules in dependency order"
    names = sorted(p.parent.name for p in (ROOT / 'modules').glob('*/tryton.cfg'))
    # relief first, then the others: dependencies only point to earlier ones
    # as long as names are prefixed (relief, relief_certification, ...).
    order = ['relief', 'relief_certification', 'relief_union',
        'relief_trace', 'relief_subsidy']
    return sorted(names, key=lambda n: order.index(n) if n in order else 99)


def uri():
    return os.environ.get('TRYTOND_DATABASE_URI') or 'sqlite://'


def is_sqlite():
    return uri().startswith('sqlite')


def sqlite_path(name):
    return Path(os.environ['TRYTOND_DATABASE__PATH']) / f'{name}.sqlite'


def credentials_file(name):
    return VAR / f'{name}-credentials.txt'


def keys_file(name):
    "The keys of the demo's API clients, which scripts/run prints too"
    return VAR / f'{name}-keys.txt'


def pg_execute(sql, dbname='postgres'):
    import psycopg
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(uri())
    conninfo = urlunsplit(parts._replace(path='/' + dbname))
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else None


def signature():
    "A hash of what the demo database is built from: modules and loaders"
    digest = hashlib.sha1()
    files = [p for p in (ROOT / 'modules').rglob('*')
        if p.suffix in {'.py', '.xml', '.cfg', '.po', '.csv'}]
    files += list(Path(__file__).parent.glob('*.py'))
    for path in sorted(files):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def signature_file(name):
    return VAR / f'{name}-signature.txt'


def exists(name):
    "Whether the database exists and was built from the current modules"
    if not credentials_file(name).exists():
        return False
    if (not signature_file(name).exists()
            or signature_file(name).read_text() != signature()):
        print(f"    the modules changed since {name} was built", flush=True)
        return False
    if is_sqlite():
        return sqlite_path(name).exists()
    return bool(pg_execute(
            f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))


def drop(name):
    credentials_file(name).unlink(missing_ok=True)
    keys_file(name).unlink(missing_ok=True)
    signature_file(name).unlink(missing_ok=True)
    if is_sqlite():
        # with its write-ahead log: a stale one would be replayed into a
        # new file of the same name
        for suffix in ['', '-wal', '-shm']:
            Path(f'{sqlite_path(name)}{suffix}').unlink(missing_ok=True)
    else:
        pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def admin(name, *args, password=None):
    env = dict(os.environ, TRYTOND_CONFIG=str(CONFIG))
    if password:
        passfile = VAR / f'.{name}-adminpass'
        passfile.write_text(password)
        env['TRYTONPASSFILE'] = str(passfile)
    try:
        subprocess.run(
            [str(Path(sys.executable).parent / 'trytond-admin'),
                '-c', str(CONFIG), '-d', name, *args],
            env=env, check=True, cwd=ROOT)
    finally:
        if password:
            passfile.unlink(missing_ok=True)


def create(name):
    VAR.mkdir(exist_ok=True)
    if is_sqlite():
        sqlite_path(name).parent.mkdir(parents=True, exist_ok=True)
        sqlite_path(name).touch()
    else:
        pg_execute(f'CREATE DATABASE "{name}" TEMPLATE template0 '
            "ENCODING 'UTF8'")
    passwords = {'admin': secrets.token_urlsafe(9)}
    print("    initialising the database (a minute or two)", flush=True)
    admin(name, '--all', '--email', 'admin@example.invalid',
        password=passwords['admin'])
    print("    activating " + ", ".join(modules()), flush=True)
    # English too: the minimal chart of accounts is an English-only template
    admin(name, '-u', *modules(), '--activate-dependencies', '-l', 'en')
    load(name, passwords)


def load(name, passwords):
    from proteus import config as pconfig
    os.environ['TRYTOND_CONFIG'] = str(CONFIG)
    # proteus takes a URI (a bare name would become the URI)
    database = name if not is_sqlite() else f'sqlite:///{name}'
    warnings.filterwarnings('ignore', "The path specified in the URI")
    cfg = pconfig.set_trytond(database=database, config_file=str(CONFIG))
    for module in modules():
        try:
            loader = importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        print(f"    demo data: {module}", flush=True)
        loader.load(cfg, passwords)
    # A name with a space is not a login but an API client's key or secret
    # (relief_mall.py): kept apart, the tests read the logins' file
    lines = [f"{login:<12} {password}" for login, password in passwords.items()
        if ' ' not in login]
    credentials_file(name).write_text('\n'.join(lines) + '\n')
    keys_file(name).write_text(''.join(f"{label} {key}\n"
            for label, key in passwords.items() if ' ' in label))
    signature_file(name).write_text(signature())


def credentials(name):
    print(credentials_file(name).read_text(), end='')
    if keys_file(name).exists():
        print(keys_file(name).read_text(), end='')


def copy(name, new):
    "Copy database name to new, for a test that changes what it finds"
    import shutil
    import sqlite3
    drop(new)
    if is_sqlite():
        # SQLite's backup: the file and what its log holds, consistently
        with sqlite3.connect(sqlite_path(name)) as source, \
                sqlite3.connect(sqlite_path(new)) as target:
            source.backup(target)
    else:
        pg_execute(f'CREATE DATABASE "{new}" TEMPLATE "{name}"')
    shutil.copyfile(credentials_file(name), credentials_file(new))
    if keys_file(name).exists():
        shutil.copyfile(keys_file(name), keys_file(new))


def main(command, name, *args):
    if command == 'exists':
        sys.exit(0 if exists(name) else 1)
    if command == 'copy':
        return copy(name, *args)
    {'create': create, 'drop': drop, 'credentials': credentials}[command](
        name)


if __name__ == '__main__':
    main(*sys.argv[1:4])
