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
as the budget covers are confirmed.

On the same server a second wave races on the other counters at once: 8
clients confirm one member's orders against a programme's limit per
member, 8 confirm purchases of one supplier against its purchase cap
(relief_certification), and 2 finance users generate claims of that
programme over and over while the orders come in.  Midway trytond-worker's
task process is killed with SIGKILL: scripts/serve starts trytond-worker
again, the scheduled action Requeue Stalled Tasks puts the task it held
back in the queue, and in the end no confirmed sale or purchase is left
without its moves and invoice, the running totals (programme budgets,
members' limits, suppliers' caps, unions' spending) equal the sums
recomputed from the documents, the subsidies are claimed or unclaimed,
and each sent claim's invoice is the sum of its lines."""
import base64
import datetime as dt
import json
import os
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

import psycopg

from dbtools import children, fresh_database, production, service

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
# The second wave: one member's orders against the limit per member, one
# supplier's purchases against its cap (a box of walnuts each, 50 CNY)
LIMITED = "会员限额补贴"
PER_BOX = Decimal("10.00")
LIMIT_COVERED = 10  # boxes the member's limit pays for
LIMIT_ORDERS = 24
SUPPLIER = "洛南县核桃专业合作社"
PRICE = Decimal("50.00")
CAP_COVERED = 10  # purchases the supplier's cap takes
PURCHASES = 24
# From the kill of the task process to every document processed
RECOVER = 180


@pytest.fixture(scope="module")
def database():
    "A programme paying 13 CNY a box for COVERED boxes, and quoted orders"
    from proteus import Model
    from trytond.modules.account.tests.tools import create_chart
    from trytond.modules.company.tests.tools import create_company
    from trytond.modules.relief_subsidy.tests.tools import (
        run_program, sell, set_up)

    with fresh_database("relief_subsidy", "relief_race") as (name, cfg):
        User = Model.get("res.user")
        admin = User(cfg.user)
        admin.password = PASSWORD
        admin.save()
        today = dt.date.today()
        create_company()
        create_chart()
        s = set_up(today)
        program = run_program(s, NAME, SUBSIDY * COVERED, today, s.kiwi)
        members = [s.zhang, s.li, s.wang]
        sales = [sell(members[i % len(members)], (s.kiwi, 1),
                payment_term=s.payment_term)
            for i in range(CLIENTS * ORDERS)]
        Model.get("sale.sale").click(sales, "quote")
        second = _second_wave(s, today)
        yield {"name": name, "program": program.id,
            "sales": [sale.id for sale in sales], **second}


def _second_wave(s, today):
    """A programme limiting what a member receives, a supplier with a cap,
    their quoted orders and purchases, and two draft claims"""
    from proteus import Model
    from trytond.modules.relief_subsidy.tests.tools import sell

    User = Model.get("res.user")
    finance, = User.find([("login", "=", "finance")])
    finance.password = PASSWORD
    finance.save()
    Program = Model.get("relief.subsidy.program")
    program = Program(name=LIMITED)
    program.payer = s.bank
    program.account = s.subsidy_account
    program.budget = Decimal("100000")
    program.valid_from = today.replace(month=1, day=1)
    program.valid_to = today.replace(month=12, day=31)
    program.products.append(Model.get("product.product")(s.walnut.id))
    program.rule = "fixed"
    program.unit_amount = PER_BOX
    program.member_limit = PER_BOX * LIMIT_COVERED
    program.limit_period = "year"
    program.claim_grouping = "sale"
    program.click("run")
    orders = [sell(s.li, (s.walnut, 1), payment_term=s.payment_term)
        for _ in range(LIMIT_ORDERS)]
    Model.get("sale.sale").click(orders, "quote")

    Claim = Model.get("relief.subsidy.claim")
    claims = [Claim(program=program, start_date=program.valid_from,
            end_date=program.valid_to) for _ in range(2)]
    Claim.save(claims)

    # The supplier of walnuts, its cap for CAP_COVERED purchases
    Party = Model.get("party.party")
    Certification = Model.get("relief.supplier.certification")
    ProductCertification = Model.get("relief.product.certification")
    template = s.walnut.template
    template.purchasable = True
    template.save()
    supplier = Party(name=SUPPLIER)
    supplier.save()
    certification = Certification(supplier=supplier,
        county=s.area("611021"), office="洛南县扶贫开发办公室",
        number="611021-001", poor_people=10,
        cap_amount=PRICE * CAP_COVERED,
        valid_from=today.replace(year=today.year - 1, month=1, day=1),
        valid_to=today + dt.timedelta(days=700))
    certification.click("certify")
    ProductCertification(template=template, supplier=supplier,
        supplier_certification=certification, catalogue_number="6110210001",
        valid_from=certification.valid_from,
        valid_to=certification.valid_to).click("certify")
    Purchase = Model.get("purchase.purchase")
    purchases = []
    for _ in range(PURCHASES):
        purchase = Purchase(party=supplier, payment_term=s.payment_term)
        line = purchase.lines.new(product=s.walnut)
        line.quantity = 1
        line.unit_price = PRICE
        purchases.append(purchase)
    Purchase.save(purchases)
    Purchase.click(purchases, "quote")
    return {"limited": program.id, "orders": [o.id for o in orders],
        "claims": [c.id for c in claims], "supplier": supplier.id,
        "purchases": [p.id for p in purchases]}


@pytest.fixture(scope="module")
def server(database):
    "scripts/serve on the database: gunicorn (2 workers), worker and cron"
    with production(database["name"], LOGS) as url:
        yield url


class Client:
    "A JSON-RPC session of its own"

    def __init__(self, url, database, login="admin"):
        self.url = f"{url}{database}/rpc/"
        self.authorization = None
        user, session = self.call("common.db.login", login,
            {"password": PASSWORD}, "en")["result"][:2]
        token = base64.b64encode(f"{login}:{user}:{session}".encode())
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

    def confirm(self, sale, model="sale.sale", button="confirm"):
        """Click button of record sale: 'confirmed' (done), ('refused',
        message), ('http', code), ('error', answer) or 'broken' (the
        connection lost)"""
        try:
            answer = self.call(f"model.{model}.{button}", [sale],
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


def _run(url, database, chunks, kill=None, model="sale.sale"):
    "Each client confirms its chunk; kill() runs once half are answered"
    answered = []
    lock = threading.Lock()

    def client(chunk):
        session = Client(url, database)
        outcomes = {}
        for sale in chunk:
            for _ in range(5):
                outcome = session.confirm(sale, model)
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


def test_festival_peak(database, server):
    from proteus import Model

    url = server
    sales = database["sales"]
    first, second = sales[:len(sales) // 2], sales[len(sales) // 2:]
    results = _run(url, database["name"],
        [first[i::CLIENTS] for i in range(CLIENTS)])

    def kill():
        workers = children(service(server.pid, "gunicorn"))
        if workers:
            os.kill(workers[0], signal.SIGKILL)
    results.update(_run(url, database["name"],
            [second[i::CLIENTS] for i in range(CLIENTS)], kill=kill))
    # trytond-worker processes the confirmed sales meanwhile: checked at
    # the end of test_second_wave, which waits for it

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
    counted = Sale.find([("id", "in", sales),
            ("state", "in", ["confirmed", "processing"])])
    assert sorted(sale.id for sale in counted) == sorted(confirmed)


# -- the second wave: a member's limit, a supplier's cap, claims, a task
# process killed

def _sql(database, query, params=()):
    "Run query on database (autocommit); its rows"
    dsn = urllib.parse.urlsplit(URI)._replace(path="/" + database).geturl()
    with psycopg.connect(dsn, autocommit=True) as connection:
        cursor = connection.execute(query, params)
        return cursor.fetchall() if cursor.description else []


TAKEN = ("SELECT id FROM ir_queue WHERE dequeued_at IS NOT NULL "
    "AND finished_at IS NULL")


class TaskKiller(threading.Thread):
    """Kill trytond-worker's task process with SIGKILL while a task is
    taken and unfinished; note the tasks it left stalled"""

    def __init__(self, supervisor, database):
        super().__init__(daemon=True)
        self.supervisor, self.database = supervisor, database
        self.stop = threading.Event()
        self.stalled, self.killed = set(), []

    def run(self):
        while not self.stop.is_set() and not self.stalled:
            if len(self.killed) >= 5:
                return
            worker = service(self.supervisor, "trytond-worker")
            tasks = children(worker) if worker else []
            if tasks and _sql(self.database, TAKEN):
                for pid in tasks:
                    os.kill(pid, signal.SIGKILL)
                self.killed.append((worker, tasks))
                time.sleep(1)
                # What nobody will finish: the killed process's task (and
                # the one its trytond-worker had taken next)
                self.stalled.update(i for i, in _sql(self.database, TAKEN))
            time.sleep(0.05)


def _generate_until(url, database, claim, done):
    "A finance user generates the claim's lines until done is set"
    session = Client(url, database, "finance")
    outcomes = []
    while not done.is_set():
        outcomes.append(session.confirm(
                claim, "relief.subsidy.claim", "generate"))
        time.sleep(0.2)
    return outcomes


def _recover(server, database, stalled):
    """The grace of Requeue Stalled Tasks passed, its scheduled action run;
    wait until every task is done and no document waits for processing"""
    # relief_requeue_stalled leaves a task alone for a minute after it was
    # taken (its worker may be about to lock it): dated back, not waited
    _sql(database, "UPDATE ir_queue SET dequeued_at = dequeued_at "
        "- interval '1 hour' WHERE id = ANY(%s) AND finished_at IS NULL",
        (sorted(stalled),))
    # What trytond-cron runs every minute, run now as Run Once does
    admin = Client(server, database)
    cron, = admin.call("model.ir.cron.search",
        [("method", "=", "ir.queue|relief_requeue_stalled")], 0, None, None,
        admin.context)["result"]
    answer = admin.call("model.ir.cron.run_once", [cron], admin.context)
    assert "error" not in answer, answer
    deadline = time.monotonic() + RECOVER
    while True:
        waiting = _sql(database, TAKEN.replace("dequeued_at IS NOT NULL",
                "TRUE")) + _unprocessed(database)
        if not waiting:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"not processed within {RECOVER} s: {waiting}")
        time.sleep(1)


def _unprocessed(database):
    """Confirmed (or later) sales and purchases without moves or invoice:
    [(model, id, state)]"""
    rows = []
    for model in ["sale", "purchase"]:
        rows += _sql(database, f"""
            SELECT '{model}', d.id, d.state FROM {model}_{model} d
            WHERE d.state IN ('confirmed', 'processing', 'done')
            AND (d.state = 'confirmed'
                OR NOT EXISTS (SELECT 1 FROM {model}_line l
                    JOIN stock_move m ON m.origin = '{model}.line,' || l.id
                    WHERE l.{model} = d.id)
                OR NOT EXISTS (SELECT 1 FROM {model}_line l
                    JOIN account_invoice_line i
                        ON i.origin = '{model}.line,' || l.id
                    WHERE l.{model} = d.id))""")
    return rows


RECOMPUTED = {
    "programmes' budgets": (
        "SELECT id, consumed FROM relief_subsidy_program",
        """SELECT p.id, COALESCE(SUM(l.amount), 0)
        FROM relief_subsidy_program p LEFT JOIN relief_subsidy_line l
            ON l.program = p.id AND l.state != 'quotation'
        GROUP BY p.id"""),
    "members' limits": (
        "SELECT program, member, period, amount "
        "FROM relief_subsidy_consumption",
        """SELECT l.program, l.member,
            date_trunc(p.limit_period, l.date)::date, SUM(l.amount)
        FROM relief_subsidy_line l
        JOIN relief_subsidy_program p ON p.id = l.program
        WHERE l.state != 'quotation' AND p.member_limit IS NOT NULL
        GROUP BY 1, 2, 3"""),
    "suppliers' caps": (
        "SELECT supplier, month, amount FROM relief_purchase_consumption",
        """SELECT party, date_trunc('month', purchase_date)::date,
            SUM(untaxed_amount_cache)
        FROM purchase_purchase
        WHERE state IN ('confirmed', 'processing', 'done')
        GROUP BY 1, 2"""),
    "unions' spending": (
        'SELECT "union", year, amount FROM relief_union_spending',
        """SELECT s.relief_union, EXTRACT(YEAR FROM s.sale_date)::integer,
            SUM(CASE WHEN l.quantity != 0 THEN l.relief_amount
                * (COALESCE(l.actual_quantity, l.quantity)
                    / l.quantity)::numeric ELSE 0 END)
        FROM sale_line l JOIN sale_sale s ON s.id = l.sale
        WHERE s.state IN ('confirmed', 'processing', 'done')
        AND s.relief_union IS NOT NULL AND s.sale_date IS NOT NULL
        AND l.relief_amount IS NOT NULL
        GROUP BY 1, 2"""),
    }


def _check_totals(database):
    "Each running total equals the sum recomputed from the documents"
    cent = Decimal("0.01")
    for what, (stored, recomputed) in RECOMPUTED.items():
        totals = [{tuple(r[:-1]): Decimal(r[-1]).quantize(cent)
                for r in _sql(database, query) if r[-1]}
            for query in [stored, recomputed]]
        assert totals[0] == totals[1], (what, *totals)


def _named(outcomes, name):
    "The outcomes that are neither a success nor a refusal naming name"
    return [o for o in outcomes if o != "confirmed"
        and not (isinstance(o, tuple) and o[0] == "refused"
            and name in o[1])]


def test_second_wave(database, server):
    """A member's limit, a supplier's cap and claims raced at once, the
    task process killed midway; then recovery and the invariants"""
    from trytond.modules.relief_subsidy.tests.tools import check_invariants

    name = database["name"]
    started = time.monotonic()
    killer = TaskKiller(server.pid, name)
    killer.start()
    done = threading.Event()
    orders, purchases = database["orders"], database["purchases"]
    with ThreadPoolExecutor(4) as pool:
        generating = [pool.submit(_generate_until, server, name, claim,
                done) for claim in database["claims"]]
        members = pool.submit(_run, server, name,
            [orders[i::CLIENTS // 2] for i in range(CLIENTS // 2)])
        suppliers = pool.submit(_run, server, name,
            [purchases[i::CLIENTS // 2] for i in range(CLIENTS // 2)],
            model="purchase.purchase")
        try:
            member_results = members.result()
            supplier_results = suppliers.result()
        finally:
            done.set()
        generated = sum((f.result() for f in generating), [])
    killer.stop.set()
    killer.join()
    raced = time.monotonic() - started
    assert killer.stalled, f"no task process killed while it held a task " \
        f"({killer.killed})"
    _recover(server, name, killer.stalled)
    recovered = time.monotonic() - started - raced
    killed_worker = killer.killed[-1][0]
    assert service(server.pid, "trytond-worker") not in {
        None, killed_worker}, "trytond-worker was not started again"

    # Every answer a success or the named refusal, exactly what the
    # limit and the cap cover confirmed
    assert not _named(member_results.values(), LIMITED), member_results
    assert not _named(supplier_results.values(), SUPPLIER), supplier_results
    assert not _named(generated, LIMITED), generated
    assert list(member_results.values()).count("confirmed") == LIMIT_COVERED
    assert list(supplier_results.values()).count("confirmed") == CAP_COVERED

    # Both claims sent at once: one is, the other overlaps it (or is
    # empty: the first generation took every subsidy)
    with ThreadPoolExecutor(2) as pool:
        sent = list(pool.map(lambda claim: Client(server, name, "finance")
                .confirm(claim, "relief.subsidy.claim", "send"),
                database["claims"]))
    assert not _named(sent, LIMITED), sent
    assert sent.count("confirmed") == 1, sent

    assert not _unprocessed(name)
    _check_totals(name)
    print(check_invariants())
    print(f"raced in {raced:.0f} s, recovered in {recovered:.0f} s; killed "
        f"{killer.killed}, stalled tasks {sorted(killer.stalled)}; "
        f"{len(generated)} generations, sent {sent}")
