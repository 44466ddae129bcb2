# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The festival peak over HTTP, as production runs: scripts/serve (gunicorn
with 2 workers, trytond-worker, trytond-cron) on PostgreSQL, and 16 clients
confirming member orders against one programme's budget at once, each
through its own JSON-RPC session.

Every answer is a success or the budget's named refusal (never an HTTP
503, a raw database error or a lost confirmation): the confirmations that
find the programme's row held wait for it (relief.totals.lock_rows) instead
of giving up after [database] retry tries.  Then a gunicorn worker is
killed in the middle of a second wave; the clients whose request it held
see a broken connection and confirm again, and in the end the programme's
running total equals the subsidy lines of the confirmed sales, every
confirmed sale is processed by trytond-worker, and exactly as many orders
as the budget covers are confirmed."""
import base64
import datetime as dt
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from dbtools import fresh_database, production

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "var" / "race-http"
URI = os.environ.get("TRYTOND_DATABASE_URI", "")
pytestmark = pytest.mark.skipif(not URI.startswith("postgresql"),
    reason="production runs on PostgreSQL (row locks, several processes)")

CLIENTS = 16
ORDERS = 10  # per client
COVERED = 120  # boxes the budget pays for, of CLIENTS * ORDERS
SUBSIDY = Decimal("13.00")
PASSWORD = "Race-admin-Xk29-festival"
NAME = "专项经费会员补贴"


@pytest.fixture(scope="module")
def database():
    "A programme paying 13 CNY a box for COVERED boxes, and quoted orders"
    from proteus import Model
    from trytond.modules.account.tests.tools import create_chart
    from trytond.modules.company.tests.tools import create_company
    from trytond.modules.relief_subsidy.tests.tools import sell, set_up

    with fresh_database("relief_subsidy", "relief_race") as (name, cfg):
        User = Model.get("res.user")
        admin = User(cfg.user)
        admin.password = PASSWORD
        admin.save()
        today = dt.date.today()
        create_company()
        create_chart()
        s = set_up(today)
        Program = Model.get("relief.subsidy.program")
        program = Program(name=NAME)
        program.payer = s.fund
        program.account = s.subsidy_account
        program.budget = SUBSIDY * COVERED
        program.valid_from = today.replace(month=1, day=1)
        program.valid_to = today.replace(month=12, day=31)
        program.products.append(Model.get("product.product")(s.kiwi.id))
        program.percentage = Decimal("20")
        program.click("run")
        members = [s.zhang, s.li, s.wang]
        sales = [sell(members[i % len(members)], (s.kiwi, 1),
                payment_term=s.payment_term)
            for i in range(CLIENTS * ORDERS)]
        Model.get("sale.sale").click(sales, "quote")
        yield {"name": name, "program": program.id,
            "sales": [sale.id for sale in sales]}


class Client:
    "A JSON-RPC session of its own"

    def __init__(self, url, database):
        self.url = f"{url}{database}/rpc/"
        self.authorization = None
        user, session = self.call("common.db.login", "admin",
            {"password": PASSWORD}, "en")["result"][:2]
        token = base64.b64encode(f"admin:{user}:{session}".encode())
        self.authorization = f"Session {token.decode()}"
        self.context = self.call(
            "model.res.user.get_preferences", True, {})["result"]

    def call(self, method, *params):
        request = urllib.request.Request(self.url, data=json.dumps({
                    "id": 1, "method": method,
                    "params": list(params)}).encode(),
            headers={"Content-Type": "application/json"})
        if self.authorization:
            request.add_header("Authorization", self.authorization)
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.load(response)

    def confirm(self, sale):
        """Confirm sale: 'confirmed', ('refused', message), ('http', code),
        ('error', answer) or 'broken' (the connection lost)"""
        try:
            answer = self.call("model.sale.sale.confirm", [sale],
                self.context)
        except urllib.error.HTTPError as error:
            return ("http", error.code)
        except (urllib.error.URLError, ConnectionError, OSError):
            return "broken"
        if "error" not in answer:
            return "confirmed"
        name, args = answer["error"][0], answer["error"][1]
        if name == "UserError":
            return ("refused", args[0])
        return ("error", answer["error"])


def _run(url, database, chunks, kill=None):
    "Each client confirms its chunk; kill() runs once half are answered"
    answered = []
    lock = threading.Lock()

    def client(chunk):
        session = Client(url, database)
        outcomes = {}
        for sale in chunk:
            for _ in range(5):
                outcome = session.confirm(sale)
                if outcome != "broken":
                    break
                session = Client(url, database)  # as a user logs in again
            outcomes[sale] = outcome
            with lock:
                answered.append(sale)
                if kill and len(answered) == sum(map(len, chunks)) // 2:
                    kill()
        return outcomes

    with ThreadPoolExecutor(len(chunks)) as pool:
        results = {}
        for outcomes in pool.map(client, chunks):
            results.update(outcomes)
    return results


def _workers():
    "The pids of the gunicorn workers"
    out = subprocess.run(["pgrep", "-f", "gunicorn"], capture_output=True,
        text=True).stdout.split()
    pids = []
    for pid in map(int, out):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue
        ppid = int(next(line.split()[1] for line in status.splitlines()
                if line.startswith("PPid:")))
        if ppid in map(int, out):
            pids.append(pid)
    return pids


def test_festival_peak(database):
    from proteus import Model

    sales = database["sales"]
    first, second = sales[:len(sales) // 2], sales[len(sales) // 2:]
    with production(database["name"], LOGS) as url:
        results = _run(url, database["name"],
            [first[i::CLIENTS] for i in range(CLIENTS)])

        def kill():
            workers = _workers()
            if workers:
                os.kill(workers[0], signal.SIGKILL)
        results.update(_run(url, database["name"],
                [second[i::CLIENTS] for i in range(CLIENTS)], kill=kill))
        # Processing by trytond-worker: every confirmed sale gets there
        Sale = Model.get("sale.sale")
        deadline = time.monotonic() + 120
        while (Sale.find([("id", "in", sales), ("state", "=", "confirmed")])
                and time.monotonic() < deadline):
            time.sleep(1)

    confirmed = [s for s, o in results.items() if o == "confirmed"]
    refused = {s: o[1] for s, o in results.items()
        if isinstance(o, tuple) and o[0] == "refused"}
    others = {s: o for s, o in results.items()
        if s not in refused and o != "confirmed"}
    assert not others, others  # no 503, no raw error, no lost answer
    assert len(confirmed) == COVERED, (len(confirmed), len(refused))
    for message in refused.values():
        assert NAME in message, message

    Program = Model.get("relief.subsidy.program")
    Sale = Model.get("sale.sale")
    SubsidyLine = Model.get("relief.subsidy.line")
    program = Program(database["program"])
    assert program.consumed == SUBSIDY * COVERED
    lines = SubsidyLine.find([("sale", "in", sales),
            ("state", "=", "confirmed")])
    assert sum(line.amount for line in lines) == program.consumed
    assert sorted(line.sale.id for line in lines) == sorted(confirmed)
    processed = Sale.find([("id", "in", sales),
            ("state", "=", "processing")])
    assert sorted(sale.id for sale in processed) == sorted(confirmed)
