# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The devices' feeds of relief_counter over HTTP, as production runs
them: scripts/serve (gunicorn with 2 workers, trytond-worker,
trytond-cron) on PostgreSQL, one server for every test of this file,
called as a smart cabinet's operator system and a counter's till call
them: several requests at once.

The test process builds the database with proteus (relief_counter's
set_up: the counter of 西安市总工会's 职工之家 and the cabinet of a bank
branch; a programme paying 20 % of the member price within 30 CNY per
member and month; the devices' secrets made with the wizard; the messages
in Chinese) and checks, after each race, the outcome in the database
(psycopg):

- one batch sent by 4 clients at once: each sale taken once, every answer
  200 and each sale answered taken by exactly one of them;
- replays: the batch again later, the same signed request again, a stale
  timestamp, a body altered after signing;
- forged signatures, an unknown device, no signature: 401, nothing taken;
- a text holding a control character: 422 naming its field, nothing taken;
- two points sell to one member at once, each sale's subsidy within the
  member's limit but not both: exactly one subsidy consumed, the other sale
  taken without it, flagged naming the member's limit.

No answer may be a 5xx.  Skipped unless on PostgreSQL."""
import datetime as dt
import hashlib
import hmac
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

import psycopg

from dbtools import fresh_database, log_tail, production

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "var" / "counter-feed-http"
URI = os.environ.get("TRYTOND_DATABASE_URI", "")
pytestmark = pytest.mark.skipif(not URI.startswith("postgresql"),
    reason="production runs on PostgreSQL (row locks, several processes)")

LIMIT = Decimal("30")  # per member and month
MEMBER_KIWI = Decimal("58.50")  # 90 % of 65 (the member price list)
SUBSIDY = Decimal("11.70")  # 20 % of it, per box
RACE_MEMBERS = ["SN-0101", "SN-0102", "SN-0103"]
TIMEOUT = 120


@pytest.fixture(scope="module")
def database():
    """relief_counter's counter and cabinet, in Chinese; the programme;
    the devices' ids and secrets (made with the wizard)"""
    from proteus import Model, Wizard
    from trytond.modules.account.tests.tools import create_chart
    from trytond.modules.company.tests.tools import create_company
    from trytond.modules.relief_counter.tests.tools import set_up
    from trytond.modules.relief_subsidy.tests.tools import run_program

    with fresh_database("relief_counter", "relief_counter_feed_http") as (
            name, cfg):
        started = time.monotonic()
        create_company()
        create_chart()
        Lang = Model.get("ir.lang")
        zh, = Lang.find([("code", "=", "zh_CN")])
        zh.click("load_translations")
        today = dt.date.today()
        s = set_up(today, stock={"kiwi": 500, "walnut": 500,
                "tea_set": 500})
        program = run_program(s, "职工消费帮扶补贴", Decimal("100000"),
            today)
        program.click("draft")
        program.member_limit = LIMIT
        program.limit_period = "month"
        program.click("run")
        for product, code in [(s.kiwi, "KIWI"), (s.walnut, "WALNUT"),
                (s.tea_set, "TEA")]:
            template = product.template
            template.code = code
            template.save()
        for method, code in [(s.cash, "CASH"), (s.card, "UNIONPAY")]:
            method.code = code
            method.save()
        Party = Model.get("party.party")
        for number in RACE_MEMBERS:
            Party(name=f"会员{number}", member_union=s.school,
                member_number=number).save()
        devices = {}
        for key, point in [("counter", s.counter), ("cabinet", s.cabinet)]:
            wizard = Wizard("relief.counter.feed.secret", [point])
            devices[key] = (wizard.form.device, wizard.form.secret)
        print(f"built in {time.monotonic() - started:.0f} s")
        yield {"name": name, "devices": devices,
            "counter": s.counter.id, "cabinet": s.cabinet.id,
            "walnut_price": str(s.walnut.template.gross_price),
            "program": program.id}


@pytest.fixture(scope="module")
def server(database):
    "scripts/serve on the database: gunicorn (2 workers), worker and cron"
    with production(database["name"], LOGS) as url:
        yield url


class Device:
    "A point's device over HTTP, signing with secret"

    def __init__(self, url, database, device, secret):
        self.base = f"{url}{database}/relief/counter/v1/points/{device}"
        self.secret = secret

    def sign(self, data, timestamp=None):
        timestamp = str(int(timestamp or time.time()))
        signature = hmac.new(self.secret.encode(),
            timestamp.encode() + b"." + data, hashlib.sha256).hexdigest()
        return {"X-Relief-Timestamp": timestamp,
            "X-Relief-Signature": signature}

    def send(self, path, data, headers):
        "Return the status and the JSON answer (or the text of another)"
        request = urllib.request.Request(self.base + path, data=data,
            method="POST", headers={"Content-Type": "application/json",
                **headers})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                status, text = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text.decode(errors="replace")

    def post(self, path, body):
        data = json.dumps(body, ensure_ascii=False).encode()
        return self.send(path, data, self.sign(data))


def _device(server, database, key):
    device, secret = database["devices"][key]
    return Device(server, database["name"], device, secret)


def _sale(id_, *lines, method="UNIONPAY", member=None, paid=None,
        minutes_ago=5):
    lines = [{"product": p, "quantity": q, "unit_price": str(u)}
        for p, q, u in lines]
    total = sum(Decimal(l["unit_price"]) * l["quantity"] for l in lines)
    entry = {"id": id_, "lines": lines,
        "time": (dt.datetime.now(dt.timezone.utc)
            - dt.timedelta(minutes=minutes_ago)).isoformat(),
        "payments": [{"method": method,
                "amount": str(paid if paid is not None else total)}]}
    if member:
        entry["member"] = member
    return entry


def _sql(database, query, params=()):
    "Run query on database (autocommit); its rows"
    dsn = urllib.parse.urlsplit(URI)._replace(path="/" + database).geturl()
    with psycopg.connect(dsn, autocommit=True) as connection:
        cursor = connection.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def together(count, call):
    "call(i) for i in range(count) in threads released at once"
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait(timeout=60)
        return call(i)
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def _no_server_error(answers):
    "No 5xx (and every answer JSON): explained with the server's log"
    bad = [a for a in answers if a[0] >= 500 or not isinstance(a[1], dict)]
    assert not bad, (bad, log_tail(LOGS / "gunicorn.log"))


def _taken(database, point, ids):
    "{device transaction: (number, state)} of the point's sales of ids"
    return {t: (n, s) for t, n, s in _sql(database,
            "SELECT feed_transaction, number, state FROM sale_point_sale "
            "WHERE point = %s AND feed_transaction = ANY(%s)",
            (point, ids))}


def test_same_batch_four_clients(server, database):
    """The operator's system sends one batch of 20 sales from 4 clients at
    once (it timed out and retried): each sale taken once, by one answer"""
    name = database["name"]
    cabinet = _device(server, database, "cabinet")
    run = uuid.uuid4().hex[:8]
    ids = [f"C1-{run}-{n:03d}" for n in range(20)]
    batch = {"sales": [_sale(i, ("WALNUT", 1, database["walnut_price"]))
            for i in ids]}
    answers = together(4, lambda i: cabinet.post("/sales", batch))
    print("answers:", [(s, a.get("taken"), a.get("already_taken"))
            if isinstance(a, dict) else (s, a) for s, a in answers])
    _no_server_error(answers)
    assert {s for s, _ in answers} == {200}, answers
    for id_ in ids:
        statuses = [next(x["status"] for x in a["sales"] if x["id"] == id_)
            for _, a in answers]
        assert sorted(statuses) == ["already_taken"] * 3 + ["taken"], (
            id_, statuses)
    taken = _taken(name, database["cabinet"], ids)
    assert sorted(taken) == ids
    assert {s for _, s in taken.values()} == {"done"}
    # Every answer names the same sale for an id
    for _, answer in answers:
        for x in answer["sales"]:
            assert x["number"] == taken[x["id"]][0], x
    (count,), = _sql(name, "SELECT COUNT(*) FROM sale_point_sale_line l "
        "JOIN sale_point_sale s ON s.id = l.sale "
        "WHERE s.feed_transaction = ANY(%s)", (ids,))
    assert count == 20


def test_replays(server, database):
    """A batch sent again later, the same signed request again: nothing
    more; a stale timestamp or a body altered after signing: refused"""
    name = database["name"]
    cabinet = _device(server, database, "cabinet")
    run = uuid.uuid4().hex[:8]
    ids = [f"C1-{run}-{n:03d}" for n in range(3)]
    data = json.dumps({"sales": [_sale(i, ("TEA", 1, "92.65"))
                for i in ids]}).encode()
    headers = cabinet.sign(data)
    status, first = cabinet.send("/sales", data, headers)
    assert (status, first["taken"]) == (200, 3), first
    # The very request again (a proxy replays it): already taken
    status, again = cabinet.send("/sales", data, headers)
    assert (status, again["taken"], again["already_taken"]) == (200, 0, 3)
    assert [x["number"] for x in again["sales"]] == [
        x["number"] for x in first["sales"]]
    # Signed 6 minutes ago: outside the window
    status, refusal = cabinet.send("/sales", data,
        cabinet.sign(data, time.time() - 360))
    assert (status, refusal["error"]) == (401, "unauthorized"), refusal
    # Altered after signing (another id): the signature is the body's
    altered = data.replace(ids[0].encode(), f"C1-{run}-999".encode())
    status, refusal = cabinet.send("/sales", altered, headers)
    assert (status, refusal["error"]) == (401, "unauthorized"), refusal
    assert sorted(_taken(name, database["cabinet"],
            ids + [f"C1-{run}-999"])) == ids


def test_forged_signatures(server, database):
    "Forged, another point's secret, unknown device, unsigned: 401"
    name = database["name"]
    device, _ = database["devices"]["cabinet"]
    _, counter_secret = database["devices"]["counter"]
    run = uuid.uuid4().hex[:8]
    batch = {"sales": [_sale(f"C1-{run}-001", ("TEA", 1, "92.65"))]}
    data = json.dumps(batch).encode()
    attempts = [
        Device(server, name, device, "guessed-secret").post("/sales", batch),
        Device(server, name, device, counter_secret).post("/sales", batch),
        Device(server, name, "rcd_unknown-device", counter_secret).post(
            "/sales", batch),
        Device(server, name, device, "").send("/sales", data, {}),
        Device(server, name, device, "").send("/sales", data, {
                "X-Relief-Timestamp": "soon",
                "X-Relief-Signature": "00"}),
        ]
    _no_server_error(attempts)
    for status, answer in attempts:
        assert (status, answer["error"]) == (401, "unauthorized"), answer
        assert answer["message"] == "设备号未知，或请求签名无效、已过期。"
    assert _taken(name, database["cabinet"], [f"C1-{run}-001"]) == {}


def test_control_characters(server, database):
    """A sale whose member number holds a NUL (PostgreSQL refuses it in
    text): 422 naming the field, nothing taken, not a 500"""
    name = database["name"]
    cabinet = _device(server, database, "cabinet")
    run = uuid.uuid4().hex[:8]
    ids = [f"C1-{run}-001", f"C1-{run}-002"]
    batch = {"sales": [_sale(ids[0], ("TEA", 1, "92.65")),
            _sale(ids[1], ("TEA", 1, "92.65"), member="SN-\x000101")]}
    status, refusal = cabinet.post("/sales", batch)
    assert (status, refusal["error"], refusal["field"]) == (
        422, "invalid", "sales[1].member"), refusal
    assert refusal["message"] == "字段 sales[1].member：不能含控制字符。"
    assert _taken(name, database["cabinet"], ids) == {}
    # The same batch without it: taken
    del batch["sales"][1]["member"]
    status, answer = cabinet.post("/sales", batch)
    assert (status, answer["taken"]) == (200, 2), answer


def _consumed(database, program, member):
    rows = _sql(database, "SELECT c.amount FROM relief_subsidy_consumption c "
        "JOIN party_party p ON p.id = c.member "
        "WHERE c.program = %s AND p.member_number = %s", (program, member))
    return sum((Decimal(str(a)) for a, in rows), Decimal(0))


def test_member_limit_race(server, database):
    """The counter and the cabinet sell two boxes each to one member at
    once: either subsidy (23.40) fits the member's limit (30), not both.
    Exactly one is consumed; the other sale is taken without it, left open
    for what the device did not collect, flagged naming the limit"""
    name = database["name"]
    points = [("counter", database["counter"]),
        ("cabinet", database["cabinet"])]
    devices = [_device(server, database, k) for k, _ in points]
    for member in RACE_MEMBERS:
        run = uuid.uuid4().hex[:8]
        ids = [f"{k}-{run}" for k, _ in points]
        batches = [{"sales": [_sale(i, ("KIWI", 2, MEMBER_KIWI),
                        method="CASH", member=member,
                        paid=2 * (MEMBER_KIWI - SUBSIDY))]} for i in ids]
        answers = together(2, lambda i: devices[i].post("/sales",
                batches[i]))
        print(member, "answers:", answers)
        _no_server_error(answers)
        assert [s for s, _ in answers] == [200, 200], answers
        sales = [a["sales"][0] for _, a in answers]
        assert [x["status"] for x in sales] == ["taken", "taken"]
        subsidised = [x for x in sales if x["subsidy"] == "23.40"]
        flagged = [x for x in sales if x["exception"]]
        assert len(subsidised) == 1 and len(flagged) == 1, sales
        assert subsidised[0]["state"] == "done"
        assert flagged[0]["subsidy"] == "0", flagged
        assert flagged[0]["state"] == "open", flagged
        assert "限额" in flagged[0]["exception"], flagged
        assert "尚欠 23.40" in flagged[0]["exception"], flagged
        assert _consumed(name, database["program"], member) == Decimal(
            "23.40")
        (confirmed,), = _sql(name, "SELECT COALESCE(SUM(l.amount), 0) "
            "FROM relief_subsidy_line l JOIN party_party p "
            "ON p.id = l.member WHERE p.member_number = %s "
            "AND l.state = 'confirmed'", (member,))
        assert Decimal(str(confirmed)) == Decimal("23.40")
