# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Backup and restore as the README describes them: scripts/backup dumps
the demo database (every relief module, its sales, subsidies, claims,
invoices and payments) and its filestore, scripts/restore puts them into a
new database, and there the subsidy invariants hold and every table has
the rows of the original.  PostgreSQL only (pg_dump)."""
import contextlib
import os
import subprocess
from pathlib import Path

import pytest

import dbtools

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
URI = os.environ.get("TRYTOND_DATABASE_URI", "")
SOURCE = "relief_browser_pg"  # the demo of the browser tests
RESTORED = "relief_restored_pg"
# What the demo must have brought back, table by table
TABLES = ["party_party", "sale_sale", "sale_line", "relief_subsidy_line",
    "relief_subsidy_claim", "relief_subsidy_claim_line", "account_move_line",
    "stock_lot", "stock_move", "relief_union_plan", "ir_attachment"]

pytestmark = pytest.mark.skipif(not URI.startswith("postgresql"),
    reason="pg_dump and pg_restore: PostgreSQL only")


def _counts(name):
    import psycopg
    from urllib.parse import urlsplit, urlunsplit
    conninfo = urlunsplit(urlsplit(URI)._replace(path="/" + name))
    with psycopg.connect(conninfo) as conn:
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
            for t in TABLES}


@contextlib.contextmanager
def _proteus(name):
    from proteus import config as pconfig
    current = getattr(pconfig._CONFIG, "current", None)
    try:
        yield pconfig.set_trytond(database=name)
    finally:
        os.environ["TRYTOND_DATABASE_URI"] = URI
        pconfig._CONFIG.current = current


def test_backup_restore(tmp_path):
    env = dict(os.environ, TRYTOND_DATABASE__URI=URI)
    env.setdefault("TRYTOND_DATABASE__PATH", str(VAR / "db"))
    log = VAR / "backup-test.log"
    dbtools.build_demo(SOURCE, env, VAR / "backup-build.log")
    dbtools.demo("drop", RESTORED, env=env)
    try:
        with log.open("w") as output:
            backup = subprocess.run(["scripts/backup", SOURCE, str(tmp_path)],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=output,
                text=True)
            assert backup.returncode == 0, dbtools.log_tail(log)
            dump = backup.stdout.strip().splitlines()[-1]
            assert subprocess.run(["scripts/restore", dump, RESTORED],
                cwd=ROOT, env=env, stdout=output,
                stderr=subprocess.STDOUT).returncode == 0, \
                dbtools.log_tail(log)
            # A second restore into the same name is refused
            assert subprocess.run(["scripts/restore", dump, RESTORED],
                cwd=ROOT, env=env, stdout=output,
                stderr=subprocess.STDOUT).returncode != 0
        original, restored = _counts(SOURCE), _counts(RESTORED)
        assert restored == original
        assert original["relief_subsidy_claim_line"] > 0
        from trytond.modules.relief_subsidy.tests.tools import (
            check_invariants)
        with _proteus(RESTORED):
            assert check_invariants().startswith("subsidies")
    finally:
        dbtools.demo("drop", RESTORED, env=env)
