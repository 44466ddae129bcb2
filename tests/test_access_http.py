# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The four roles of the demo over HTTP, as clients and attackers would.

A copy of the demo database (the one the browser tests build: every relief
module, the demo's users and data) is served by a real trytond; the test
logs in as admin, backoffice, finance and accountant over JSON-RPC and
tries, as each role, what the role must not do: become administrator
through the REST API or a plain create, read sessions, queue a task as
root, change the configuration or the model data, lift the login rate
limit, read other members' subsidies and totals, write as the read-only
accountant, bypass a workflow with a plain write, recover the password
hash by searching; and, for relief_bidding, read, search or sort the
figures of sealed bids (JSON-RPC and REST, the back office, the
committee's members bid_officer and bid_inspector, admin), move a round
or unseal it with one member's opening, change a closed round's bid, or
reach the rounds without the bidding group.  Every refusal must be a named error (the server's
UserError, which AccessError is) or an HTTP 403/400 from the REST API,
never a success; and what it tried is checked not to have happened.
Each refusal is paired with a control that succeeds, so a refusal for a
broken call would not pass.  Runs on SQLite and PostgreSQL."""
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import dbtools
from dbtools import RPCClient, RPCError

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
PG = os.environ.get("TRYTOND_DATABASE_URI", "").startswith("postgresql")
# The demo database of the browser tests, built once and copied here
SOURCE = "relief_browser" + ("_pg" if PG else "")
DATABASE = "relief_access" + ("_pg" if PG else "")
LOG = VAR / f"{DATABASE}-trytond.log"
INTEGRATION = ("integration", "Integr4tion-REST-key-Ux8")


def rest(url, method, path, key, data=None):
    "Call the REST API with a user application key; (status, body)"
    request = urllib.request.Request(f"{url}{DATABASE}/rest/{path}",
        method=method, data=json.dumps(data).encode() if data else None,
        headers={"Authorization": f"bearer {key}",
            "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def server():
    env = dict(os.environ)
    env.setdefault("TRYTOND_DATABASE__PATH", str(VAR / "db"))
    credentials = dbtools.build_demo(
        SOURCE, env, VAR / f"{DATABASE}-build.log")
    assert not dbtools.demo("copy", SOURCE, DATABASE, env=env, log=LOG), \
        dbtools.log_tail(LOG)
    try:
        with dbtools.serve(DATABASE, env["TRYTOND_DATABASE__PATH"],
                VAR / f"{DATABASE}-serve.log") as url:
            yield url, credentials
    finally:
        dbtools.demo("drop", DATABASE, env=env)


@pytest.fixture(scope="module")
def clients(server):
    url, credentials = server
    clients = {login: RPCClient(url, DATABASE, login, password, LOG)
        for login, password in credentials.items()}
    admin = clients["admin"]
    # An integration user of the REST API, and the accountant's key that an
    # administrator validated by mistake
    group = _xml_id(admin, "relief", "group_rest_api")
    user, = admin("res.user", "create", [{"login": INTEGRATION[0],
                "name": "ERP integration", "password": INTEGRATION[1],
                "groups": [("add", [group])]}])
    clients["integration"] = RPCClient(url, DATABASE, *INTEGRATION, LOG)
    return clients


def _xml_id(admin, module, fs_id):
    return admin("ir.model.data", "get_id", module, fs_id)


def refused(call, *args):
    """call(*args) must be refused with a named error (UserError, which
    AccessError is) or HTTP 403; return its message"""
    with pytest.raises(RPCError) as info:
        call(*args)
    assert info.value.name in {"UserError", "Forbidden"}, info.value.args
    return info.value.message


def _groups(admin, user_id):
    user, = admin.read("res.user", [user_id], ["groups"])
    return set(user["groups"])


# The REST API and the administrator's group

def test_user_application_key_refused(clients):
    "A role cannot create itself a REST key (needs the group REST API)"
    accountant = clients["accountant"]
    refused(accountant, "res.user.application", "create",
        [{"user": accountant.user_id, "application": "rest"}])
    assert not clients["admin"].search("res.user.application",
        [("user", "=", accountant.user_id)])


def test_rest_closed_to_roles(server, clients):
    "A role's key, even validated by an administrator, gets 403"
    url, _ = server
    admin, accountant = clients["admin"], clients["accountant"]
    application, = admin("res.user.application", "create",
        [{"user": accountant.user_id, "application": "rest"}])
    key, = admin.read("res.user.application", [application], ["key"])
    admin_group = _xml_id(admin, "res", "group_admin")
    status, _ = rest(url, "POST", "model/res.user-res.group", key["key"],
        {"user": accountant.user_id, "group": admin_group})
    assert status == 403
    status, _ = rest(url, "GET", "model/ir.session", key["key"])
    assert status == 403
    assert admin_group not in _groups(admin, accountant.user_id)


def test_rest_held_by_model_access(server, clients):
    "The REST API of an integration user is held by the same access"
    url, _ = server
    admin, integration = clients["admin"], clients["integration"]
    application, = admin("res.user.application", "create",
        [{"user": integration.user_id, "application": "rest"}])
    key = admin.read("res.user.application", [application], ["key"])[0]
    admin_group = _xml_id(admin, "res", "group_admin")
    # control: it may read its own user
    status, body = rest(url, "GET",
        f"model/res.user/{integration.user_id}", key["key"])
    assert status == 200, body
    for method, path, data in [
            ("POST", "model/res.user-res.group",
                {"user": integration.user_id, "group": admin_group}),
            ("GET", "model/ir.session", None),
            ("POST", "model/ir.queue",
                {"name": "x", "data": {}, "user": 0}),
            ("GET", "model/relief.subsidy.consumption", None),
            ]:
        status, body = rest(url, method, path, key["key"], data)
        assert status in {400, 403}, (path, status, body)
    assert admin_group not in _groups(admin, integration.user_id)


@pytest.mark.parametrize("login", ["accountant", "backoffice", "finance"])
def test_no_own_promotion(clients, login):
    "No role adds itself to a group over JSON-RPC"
    client, admin = clients[login], clients["admin"]
    admin_group = _xml_id(admin, "res", "group_admin")
    refused(client, "res.user-res.group", "create",
        [{"user": client.user_id, "group": admin_group}])
    refused(client, "res.user", "write", [client.user_id],
        {"groups": [("add", [admin_group])]})
    assert admin_group not in _groups(admin, client.user_id)


# Technical models

@pytest.mark.parametrize("login", ["accountant", "backoffice", "finance"])
def test_technical_models(clients, login):
    client, admin = clients[login], clients["admin"]
    refused(client.search, "ir.session", [])
    refused(client, "ir.queue", "create", [{"name": "x", "user": 0}])
    refused(client.search, "ir.queue", [])
    refused(client, "ir.configuration", "write", [1], {"language": "en"})
    data = [1]  # the first model data: refused before any record is read
    refused(client, "ir.model.data", "write", data, {"noupdate": True})
    refused(client, "ir.model.data", "create", [{"model": "res.user",
                "module": "relief", "fs_id": "x", "db_id": 1}])
    refused(client.search, "res.user.login.attempt", [])
    refused(client, "res.user.login.attempt", "delete", [1])
    # control: what the client needs still works
    assert client.search("res.user", [("id", "=", client.user_id)])


@pytest.mark.parametrize("login", ["accountant", "backoffice", "finance"])
def test_password_hash_not_searchable(clients, login):
    client = clients[login]
    refused(client, "res.user", "search_count",
        [("id", "=", 1), ("password_hash", "like", "$argon2id$%")])
    refused(client.read, "res.user", [client.user_id], ["password_hash"])


# Subsidies

def test_subsidy_relations_closed(clients):
    admin = clients["admin"]
    program = admin.search("relief.subsidy.program", [], limit=1)[0]
    union = admin.search("party.party", [("union_level", "!=", None)],
        limit=1)[0]
    product = admin.search("product.product", [], limit=1)[0]
    for login in ["accountant", "backoffice"]:
        client = clients[login]
        refused(client, "relief.subsidy.program-party.party", "create",
            [{"program": program, "union": union}])
        refused(client, "relief.subsidy.program-product.product", "create",
            [{"program": program, "product": product}])


def test_subsidy_lines_of_others_hidden(clients):
    "The accountant reads no subsidy of a sale outside their unions"
    admin, accountant = clients["admin"], clients["accountant"]
    union = accountant.context.get("relief_union") or admin.read(
        "res.user", [accountant.user_id], ["relief_union"])[0]["relief_union"]
    others = admin.search("relief.subsidy.line",
        [("sale.relief_union", "not child_of", [union], "union_parent")], limit=5)
    assert others
    refused(accountant.read, "relief.subsidy.line", others, ["amount"])
    refused(accountant, "relief.subsidy.line",
        "export_data", others, ["amount", "member/name"])
    for line in admin.read("relief.subsidy.line", others[:1], ["sale"]):
        refused(accountant, "relief.subsidy.line", "create", [{
                    "sale": line["sale"], "amount": "500",
                    "state": "confirmed"}])
    refused(accountant, "relief.subsidy.line", "write", others[:1],
        {"amount": "0"})


@pytest.mark.parametrize("login", ["accountant", "backoffice", "finance"])
def test_consumption_totals_closed(clients, login):
    "Members' subsidy totals: no role reads or resets them (JSON-RPC)"
    client = clients[login]
    refused(client, "relief.subsidy.consumption", "write", [1],
        {"amount": "0"})
    refused(client.read, "relief.subsidy.consumption", [1], ["amount"])
    refused(client.search, "relief.subsidy.consumption", [])


def test_subsidy_amounts_and_claims_by_workflow(clients):
    admin = clients["admin"]
    for login in ["backoffice", "finance"]:
        client = clients[login]
        lines = admin.search("relief.subsidy.line",
            [("state", "=", "confirmed")], limit=1)
        refused(client, "relief.subsidy.line", "write", lines,
            {"amount": "0.01"})
    finance = clients["finance"]
    draft = admin.search("relief.subsidy.claim", [("state", "=", "draft")],
        limit=1)
    assert draft
    refused(finance, "relief.subsidy.claim", "write", draft,
        {"state": "paid"})
    paid = admin.search("relief.subsidy.claim.line",
        [("claim.state", "=", "paid")], limit=1)
    assert paid
    refused(finance, "relief.subsidy.claim.line", "write", paid,
        {"amount": "1"})
    # control: finance reads its claims
    assert finance.read("relief.subsidy.claim", draft, ["state"])[0][
        "state"] == "draft"


# The read-only accountant

def test_accountant_read_only_on_parties(clients):
    admin, accountant = clients["admin"], clients["accountant"]
    union = admin.read("res.user", [accountant.user_id],
        ["relief_union"])[0]["relief_union"]
    members = accountant.search("party.party",
        [("member_union", "child_of", [union], "union_parent")],
        limit=2)
    assert members  # control: the accountant sees their members
    before = admin.read("party.party", members, ["name"])
    refused(accountant, "party.party", "write", members[:1],
        {"name": "改名"})
    refused(accountant, "party.party", "create", [{"name": "新会员"}])
    refused(accountant, "party.party", "delete", members[:1])
    upper = admin.read("party.party", [union],
        ["union_parent"])[0]["union_parent"]
    refused(accountant, "party.party", "write", [upper], {"name": "改名"})
    refused(accountant, "party.party", "write", [union],
        {"union_members": 1})
    addresses = admin.search("party.address",
        [("party", "in", members)], limit=1)
    if addresses:
        refused(accountant, "party.address", "write", addresses,
            {"street": "x"})
    assert admin.read("party.party", members, ["name"]) == before


# Workflows bypassed by a plain write (back office)

def test_certification_by_workflow(clients):
    admin, backoffice = clients["admin"], clients["backoffice"]
    certified = admin.search("relief.supplier.certification",
        [("state", "=", "certified")], limit=1)
    assert certified
    refused(backoffice, "relief.supplier.certification", "write", certified,
        {"state": "draft"})
    refused(backoffice, "relief.supplier.certification", "write", certified,
        {"number": "FAKE-0001"})
    draft = admin.search("relief.supplier.certification",
        [("state", "!=", "certified")], limit=1)
    if draft:
        refused(backoffice, "relief.supplier.certification", "write", draft,
            {"state": "certified"})
    entries = admin.search("relief.catalogue.entry",
        [("state", "=", "listed")], limit=1)
    refused(backoffice, "relief.catalogue.entry", "write", entries,
        {"state": "delisted"})
    delisted = admin.search("relief.catalogue.entry",
        [("state", "=", "delisted")], limit=1)
    if delisted:
        refused(backoffice, "relief.catalogue.entry", "write", delisted,
            {"state": "listed"})


def test_lots_by_workflow(clients):
    admin, backoffice = clients["admin"], clients["backoffice"]
    blocked = admin.search("stock.lot", [("relief_blocked", "=", True)],
        limit=1)
    assert blocked
    refused(backoffice, "stock.lot", "write", blocked,
        {"relief_blocked": False, "relief_recall": None})
    assert admin.read("stock.lot", blocked, ["relief_blocked"])[0][
        "relief_blocked"]
    lots = admin.search("stock.lot", [("trace_code", "!=", None)], limit=1)
    refused(backoffice, "stock.lot", "write", lots, {"trace_code": "x" * 16})
    # control: the back office reads its lots
    assert backoffice.read("stock.lot", lots, ["number"])


def test_recalls_back_office_only(clients):
    admin = clients["admin"]
    lines = admin.search("relief.trace.recall.line", [], limit=1)
    assert lines
    for login in ["accountant", "finance"]:
        refused(clients[login].read, "relief.trace.recall.line", lines,
            ["party"])
    assert clients["backoffice"].read("relief.trace.recall.line", lines,
        ["id"])


def test_counter_clerk_by_workflow(clients):
    """A counter clerk (sale_point's group; the demo's clerk of one counter)
    sells at his counter and sees the subsidies Pay computes there, but
    never another counter's sales, and never writes a sale's state, number
    or member, a subsidy, a programme or a point"""
    admin, clerk = clients["admin"], clients["clerk"]
    employee, = [u["employee"] for u in admin.read(
            "res.user", [clerk.user_id], ["employee"])]
    mine = admin.search("sale.point", [("clerks", "=", employee)])
    others = admin.search("sale.point", [("id", "not in", mine)])
    sales = admin.search("sale.point.sale",
        [("state", "=", "posted"), ("point", "in", mine)], limit=1)
    other_sales = admin.search("sale.point.sale",
        [("point", "in", others)], limit=1)
    subsidies = admin.search("relief.subsidy.line",
        [("point_sale.point", "in", mine)], limit=1)
    other_subsidies = admin.search("relief.subsidy.line",
        [("point_sale.point", "in", others)], limit=1)
    sessions = admin.search("sale.point.cash.session",
        [("point", "in", others)], limit=1)
    programs = admin.search("relief.subsidy.program", [], limit=1)
    assert len(mine) == 1 and all([others, sales, other_sales, subsidies,
            other_subsidies, sessions, programs])
    # control: the clerk reads his counter's sales and their subsidies
    assert clerk.read("sale.point.sale", sales, ["number"])
    assert clerk.read("relief.subsidy.line", subsidies, ["amount"])
    assert clerk.search("sale.point", []) == mine
    # another counter's sales, subsidies and sessions: not even listed
    assert not clerk.search("sale.point.sale", [("point", "in", others)])
    assert not clerk.search("relief.subsidy.line",
        [("id", "in", other_subsidies)])
    refused(clerk, "sale.point.sale", "read", other_sales, ["number"])
    refused(clerk, "relief.subsidy.line", "read", other_subsidies,
        ["amount"])
    refused(clerk, "sale.point.cash.session", "read", sessions, ["state"])
    refused(clerk, "sale.point.sale", "write", sales, {"state": "open"})
    refused(clerk, "sale.point.sale", "write", sales, {"number": "X-1"})
    refused(clerk, "relief.subsidy.line", "write", subsidies,
        {"amount": "0"})
    refused(clerk, "relief.subsidy.line", "delete", subsidies)
    refused(clerk, "relief.subsidy.program", "write", programs,
        {"budget": "99999999"})
    refused(clerk, "sale.point", "write", mine, {"host_fee_rate": "0"})
    refused(clerk, "sale.point.sale", "post", sales)


def test_counter_finance_reads_device_sales(clients):
    """Finance checks the device sales that the feeds flagged (the demo's
    offline till counted a payment short), with their lines, payments and
    subsidies, from its menu; it changes none of them, nor a counter"""
    admin, finance = clients["admin"], clients["finance"]
    flagged = admin.search("sale.point.sale",
        [("feed_exception", "!=", None)])
    payments = admin.search("sale.point.payment",
        [("sale", "in", flagged)])
    points = admin.search("sale.point", [], limit=1)
    menu = _xml_id(admin, "relief_counter", "menu_feed_exception_finance")
    assert flagged and payments and points
    # control: finance lists and reads them, and has the menu
    assert finance.search("sale.point.sale",
        [("feed_exception", "!=", None)]) == flagged
    sale, = finance.read("sale.point.sale", flagged[:1],
        ["state", "feed_exception", "amount_to_pay", "lines"])
    assert sale["state"] == "open" and sale["feed_exception"]
    assert finance.read("sale.point.sale.line", sale["lines"], ["product"])
    assert finance.read("sale.point.payment", payments, ["amount"])
    assert finance.search("ir.ui.menu", [("id", "=", menu)]) == [menu]
    refused(finance, "sale.point.sale", "write", flagged[:1],
        {"feed_exception": None})
    refused(finance, "sale.point.sale", "write", flagged[:1],
        {"state": "done"})
    refused(finance, "sale.point.sale", "delete", flagged[:1])
    refused(finance, "sale.point.payment", "create", [{"sale": flagged[0],
                "amount": "1.00"}])
    refused(finance, "sale.point.payment", "delete", payments)
    refused(finance, "sale.point.sale", "process", flagged[:1])
    refused(finance, "sale.point", "write", points, {"host_fee_rate": "0"})


# relief_report: the accountant's reports are their subtree's

def test_report_accountant_subtree(clients):
    """The accountant reads the progress, the monthly totals and the
    targets of their union and the unions below it only, and changes
    nothing; the off-platform purchases of other unions are hidden"""
    admin, accountant = clients["admin"], clients["accountant"]
    union = admin.read("res.user", [accountant.user_id],
        ["relief_union"])[0]["relief_union"]
    bounds, = admin.read("party.party", [union],
        ["union_left", "union_right"])
    subtree = set(admin.search("party.party", [
                ("union_left", ">=", bounds["union_left"]),
                ("union_right", "<=", bounds["union_right"])]))
    for model in ["relief.report.progress", "relief.report.spending",
            "relief.report.target"]:
        ids = accountant.search(model, [])
        assert ids, model  # control: the accountant sees their subtree's
        rows = accountant.read(model, ids, ["union"])
        assert {r["union"] for r in rows} <= subtree, model
        others = admin.search(model,
            [("union", "not in", sorted(subtree))], limit=1)
        assert others, model
        refused(accountant.read, model, others, ["union"])
    refused(accountant, "relief.report.target", "create",
        [{"year": 2020, "amount": "1"}])
    purchases = admin.search("relief.report.offplatform", [])
    assert purchases
    assert accountant.search("relief.report.offplatform", []) == []
    refused(accountant, "relief.report.offplatform", "write", purchases,
        {"amount": "1"})


# relief_bidding: the bidding group, and the sealed bids

# The figures of a bid that nobody reads before its round is opened
SEALED = ["price", "quantity", "delivery_date", "capacity", "score",
    "score_price", "score_poor_people", "score_quality", "score_capacity"]
COMMITTEE = ["bid_officer", "bid_inspector"]
BIDDERS = ["backoffice", *COMMITTEE, "admin"]


def _date(value):
    return {"__class__": "date", "year": value.year, "month": value.month,
        "day": value.day}


def _datetime(value):
    return {"__class__": "datetime", "year": value.year,
        "month": value.month, "day": value.day, "hour": value.hour,
        "minute": value.minute, "second": value.second,
        "microsecond": 0}


def _decimal(value):
    return {"__class__": "Decimal", "decimal": str(value)}


def _b64(value):
    import base64
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.fixture(scope="module")
def bidding(clients):
    """Two rounds of the back office beside the demo's (opened, awarded)
    one, with the demo round's products and bidders: "closed", its
    bids in, closed and opened by the officer alone (the inspector has
    not); "invited", still taking bids (closing tomorrow, opening the day
    after)"""
    import datetime as dt
    import time
    admin, backoffice = clients["admin"], clients["backoffice"]
    demo, = admin.search("relief.bidding.round",
        [("state", "=", "awarded")], limit=1)
    lines = admin.read("relief.bidding.round.line",
        admin.read("relief.bidding.round", [demo], ["lines"])[0]["lines"],
        ["product", "unit", "quantity"])
    demo_bids = admin.search("relief.bidding.bid", [("round", "=", demo)])
    bidders = {}  # product: its demo bidders
    for bid in admin.read("relief.bidding.bid", demo_bids,
            ["supplier", "line.product"]):
        bidders.setdefault(bid["line."]["product"], []).append(
            bid["supplier"])
    officer, inspector = (clients[login].user_id for login in COMMITTEE)
    # The demo has two warehouses: the round's requests go to the demo's
    warehouse = admin.read("relief.bidding.round", [demo],
        ["warehouse"])[0]["warehouse"]
    today = dt.date.today()

    def create(name, closing, opening, skip_last=False):
        round_, = backoffice("relief.bidding.round", "create", [{
                    "name": name,
                    "company": backoffice.context["company"],
                    "warehouse": warehouse,
                    "delivery_from": _date(today + dt.timedelta(days=7)),
                    "delivery_to": _date(today + dt.timedelta(days=60)),
                    "closing": _datetime(closing),
                    "opening": _datetime(opening),
                    "committee_first": officer,
                    "committee_second": inspector,
                    "lines": [("create", [{"product": line["product"],
                                    "unit": line["unit"],
                                    "quantity": line["quantity"]}
                                for line in lines])],
                    "invitations": [("create", [{"supplier": s}
                                for s in sorted({s for p in bidders.values()
                                            for s in p})])],
                    }])
        backoffice("relief.bidding.round", "invite", [round_])
        bids = []
        for line in backoffice.read("relief.bidding.round.line",
                backoffice.read("relief.bidding.round", [round_],
                    ["lines"])[0]["lines"], ["product", "quantity"]):
            suppliers = sorted(bidders[line["product"]])
            if skip_last:
                skipped[line["product"]] = (suppliers.pop(), line["id"])
            for i, supplier in enumerate(suppliers):
                bids.append({"round": round_, "line": line["id"],
                        "supplier": supplier,
                        # a cheap bid and dearer ones: a domain price < 50
                        # would tell them apart
                        "price": _decimal(10 + 80 * i),
                        "quantity": line["quantity"],
                        "capacity": line["quantity"],
                        "delivery_date": _date(
                            today + dt.timedelta(days=10))})
        return round_, backoffice("relief.bidding.bid", "create", bids)

    # each product's last bidder: no bid in the closed round
    skipped = {}
    now = dt.datetime.now().replace(microsecond=0)
    closed, closed_bids = create("HTTP 密封竞价",
        now + dt.timedelta(seconds=10), now + dt.timedelta(seconds=11),
        skip_last=True)
    invited, invited_bids = create("HTTP 邀请中竞价",
        now + dt.timedelta(days=1), now + dt.timedelta(days=2))
    time.sleep(max(0, (now + dt.timedelta(seconds=12)
                - dt.datetime.now()).total_seconds()))
    backoffice("relief.bidding.round", "close", [closed])
    clients["bid_officer"]("relief.bidding.round", "open_", [closed])
    # a bid of the invited round that could move to the closed round's
    # product (its supplier is invited there, and has no bid there)
    product, (supplier, line) = sorted(skipped.items())[0]
    move, = admin.search("relief.bidding.bid", [("round", "=", invited),
            ("supplier", "=", supplier), ("line.product", "=", product)])
    return {"demo": demo, "demo_bids": demo_bids, "move": (move, line),
        "closed": closed, "closed_bids": closed_bids,
        "invited": invited, "invited_bids": invited_bids}


def _round(client, round_, fields=("state", "first_opened",
            "second_opened")):
    return client.read("relief.bidding.round", [round_], list(fields))[0]


def _bidding_key(server, clients):
    "A REST key of an integration user of the bidding group"
    admin = clients["admin"]
    groups = [_xml_id(admin, "relief", "group_rest_api"),
        _xml_id(admin, "relief_bidding", "group_bidding")]
    company = clients["backoffice"].context["company"]
    user, = admin("res.user", "create", [{"login": "bidding-integration",
                "name": "Bidding integration",
                "password": "Bidd1ng-REST-key-Qz7",
                "companies": [("add", [company])], "company": company,
                "groups": [("add", groups)]}])
    application, = admin("res.user.application", "create",
        [{"user": user, "application": "rest"}])
    return admin.read("res.user.application", [application], ["key"])[0][
        "key"]


def test_bidding_sealed_read_rpc(clients, bidding):
    """The figures of the bids of a round not opened read empty for the
    back office who entered them, each member of the committee and
    admin: a read, a read through the round, a search_read, an export"""
    sealed = bidding["closed_bids"] + bidding["invited_bids"]
    for login in BIDDERS:
        client = clients[login]
        rows = client.read("relief.bidding.bid", sealed,
            ["supplier", "line", *SEALED])
        # control: the bids are read, their supplier and product too
        assert sorted(r["id"] for r in rows) == sorted(sealed), login
        assert all(r["supplier"] and r["line"] for r in rows), login
        assert all(r[n] is None for r in rows for n in SEALED), (login, rows)
        for round_ in [bidding["closed"], bidding["invited"]]:
            row, = client.read("relief.bidding.round", [round_],
                ["bids.price", "bids.capacity", "bids.score"])
            assert row["bids."], login
            assert all(b[n] is None for b in row["bids."]
                for n in ["price", "capacity", "score"]), (login, row)
        rows = client("relief.bidding.bid", "search_read",
            [("round", "=", bidding["closed"])], 0, None, None,
            ["price", "quantity"])
        assert len(rows) == len(bidding["closed_bids"]), login
        assert all(r["price"] is None and r["quantity"] is None
            for r in rows), (login, rows)
        exported = client.export("relief.bidding.bid", sealed[:1],
            ["supplier/rec_name", "price", "capacity"])
        assert exported[0][0] and exported[0][1:] == ["", ""], exported
        # control: the bids of the demo's opened round read their figures
        opened = client.read("relief.bidding.bid", bidding["demo_bids"],
            ["price", "quantity", "score"])
        assert all(r["price"] is not None and r["score"] is not None
            for r in opened), (login, opened)


def test_bidding_sealed_read_rest(server, clients, bidding):
    """Over REST, a key of the bidding group reads the sealed figures
    empty, by id and by search; a search or an order on them is 400"""
    url, _ = server
    key = _bidding_key(server, clients)
    fields = "&".join(f"f={n}" for n in ["supplier", *SEALED])
    for bid in bidding["closed_bids"][:2] + bidding["invited_bids"][:1]:
        status, body = rest(url, "GET",
            f"model/relief.bidding.bid/{bid}?{fields}", key)
        assert status == 200, body
        row = json.loads(body)
        assert row["supplier"] and all(row[n] is None for n in SEALED), row
    # by search
    status, body = rest(url, "GET", f"model/relief.bidding.bid?{fields}&d="
        + _b64([["round", "=", bidding["closed"]]]), key)
    assert status == 200, body
    rows = json.loads(body)
    assert len(rows) == len(bidding["closed_bids"])
    assert all(r["supplier"] for r in rows)
    assert all(r[n] is None for r in rows for n in SEALED), rows
    status, body = rest(url, "GET",
        f"model/relief.bidding.round/{bidding['closed']}?f=bids.price", key)
    assert status == 200, body
    assert [b["price"] for b in json.loads(body)["bids"]] == [None] * len(
        bidding["closed_bids"])
    # control: the demo's opened round reads its figures
    status, body = rest(url, "GET",
        f"model/relief.bidding.bid/{bidding['demo_bids'][0]}?f=price", key)
    assert status == 200 and json.loads(body)["price"] is not None, body
    status, body = rest(url, "GET", "model/relief.bidding.bid?f=id&d="
        + _b64([["round", "=", bidding["demo"]], ["price", "<", 1000000]]),
        key)
    assert status == 200 and len(json.loads(body)) == len(
        bidding["demo_bids"]), body
    # a search or an order on a sealed figure that reaches a sealed bid
    price, messages = _strings(clients, "price"), []
    for query in [
            "d=" + _b64([["price", "<", 50]]),
            "d=" + _b64([["round", "=", bidding["closed"]],
                    ["price", "<", 1000000]]),
            "d=" + _b64([["score", ">", 0]]),
            "o=" + _b64([["price", "ASC"]]),
            ]:
        status, body = rest(url, "GET",
            f"model/relief.bidding.bid?f=id&{query}", key)
        assert status == 400, (query, status, body)
        messages.append(json.loads(body)["message"])
    # named: the same refusal whatever the price asked
    assert messages[0] == messages[1] and _names(messages[0], price), \
        messages
    assert _names(messages[2], _strings(clients, "score")), messages
    assert _names(messages[3], price), messages


def _strings(clients, name):
    "The strings of a bid's field, in English and in Chinese"
    admin = clients["admin"]
    return {admin.call("model.relief.bidding.bid.fields_get", [name],
            {**admin.context, "language": language})[name]["string"]
        for language in ["en", "zh_CN"]}


def _names(message, strings):
    "Whether the refusal's message names one of the field's strings"
    return any(f"\u201c{s}\u201d" in message or f'"{s}"' in message
        for s in strings)


def test_bidding_sealed_search_rpc(clients, bidding):
    """A search or an order on a sealed figure is refused, whatever the
    figure asked (the refusal tells nothing); from the round, a condition
    on its bids' figures never matches a sealed bid"""
    closed, invited = bidding["closed"], bidding["invited"]
    price = _strings(clients, "price")
    for login in BIDDERS:
        client = clients[login]
        messages = []
        for domain in [[("price", "<", 50)], [("price", "<", 1000000)],
                [("round", "=", closed), ("price", ">=", 0)],
                [("round", "=", closed), ("price", "=", None)],
                ["OR", ("capacity", ">", 0), ("id", "=", 0)],
                [("score", ">", 0)]]:
            messages.append(refused(client.search, "relief.bidding.bid",
                    domain))
            refused(client, "relief.bidding.bid", "search_count", domain)
        # the same refusal, naming the price, whatever the price asked
        assert len(set(messages[:4])) == 1, (login, messages)
        assert _names(messages[0], price), (login, messages)
        assert _names(messages[4], _strings(clients, "capacity"))
        assert _names(messages[5], _strings(clients, "score"))
        for order in [[["price", "ASC"]], [["score", "DESC"]],
                [["delivery_date", "ASC"]]]:
            refused(client, "relief.bidding.bid", "search",
                [("round", "=", closed)], 0, None, order)
        # control: the same searches without the figures, or on the opened
        # round's bids, work
        assert sorted(client.search("relief.bidding.bid",
                [("round", "=", closed)])) == sorted(bidding["closed_bids"])
        assert sorted(client("relief.bidding.bid", "search",
                [("round", "=", bidding["demo"]), ("price", ">", 0)],
                0, None, [["price", "ASC"]])) == sorted(bidding["demo_bids"])
        # from the round: never filters on a sealed bid's figures
        for domain in [[("bids.price", "<", 50)],
                [("bids.price", ">=", 0)], [("bids.price", "=", None)],
                [("bids.score", ">", 0)],
                [("bids.capacity", ">", 0)]]:
            found = client.search("relief.bidding.round", domain)
            assert closed not in found and invited not in found, (
                login, domain, found)
        assert bidding["demo"] in client.search("relief.bidding.round",
            [("bids.price", ">", 0)])  # control: the opened round is found
        try:
            found = client.search("relief.bidding.round",
                [("bids", "where", [("price", "<", 50)])])
        except RPCError as error:
            assert error.name == "UserError", error.args
        else:
            assert closed not in found and invited not in found, found


def test_bidding_round_by_workflow(clients, bidding):
    """Only the buttons move a round: its state and its committee's
    openings are not written, nor a round created or copied in another
    state (a round preset as opened by one member would be unsealed by
    the other alone)"""
    admin, backoffice = clients["admin"], clients["backoffice"]
    officer = clients["bid_officer"]
    closed, invited = bidding["closed"], bidding["invited"]
    before = _round(admin, closed)
    assert before["state"] == "closed" and before["first_opened"] \
        and not before["second_opened"]
    for client in [backoffice, officer]:
        refused(client, "relief.bidding.round", "write", [closed],
            {"state": "opened"})
        refused(client, "relief.bidding.round", "write", [closed],
            {"second_opened": True})
        refused(client, "relief.bidding.round", "write", [invited],
            {"state": "closed"})
    assert _round(admin, closed) == before
    assert _round(admin, invited)["state"] == "invited"
    draft, = backoffice("relief.bidding.round", "copy", [invited], {})
    assert _round(admin, draft)["state"] == "draft"  # control
    for values in [{"state": "invited"}, {"state": "opened"},
            {"first_opened": True, "second_opened": True}]:
        refused(backoffice, "relief.bidding.round", "write", [draft], values)
    for default in [{"state": "closed"},
            {"first_opened": True, "second_opened": True}]:
        refused(backoffice, "relief.bidding.round", "copy", [invited],
            default)
    assert not _round(admin, draft)["first_opened"]
    # control: a draft's terms are written
    backoffice("relief.bidding.round", "write", [draft], {"name": "改名"})
    assert _round(admin, draft, ["name", "state"]) == {
        "id": draft, "name": "改名", "state": "draft"}
    if PG:
        # no round was created by the refused copies (on SQLite, the
        # served trytond commits a creation refused after its INSERT: see
        # tests/dbtools.serve's clean_timeout = 0)
        assert len(admin.search("relief.bidding.round",
                [("name", "like", "HTTP %")])) == 2
    backoffice("relief.bidding.round", "delete", [draft])


def test_bidding_bids_by_workflow(clients, bidding):
    """A closed round's bid is not changed, nor a bid moved into a
    closed or opened round; what the opening and the award set is not
    written; a round still taking bids takes a changed price (control)"""
    admin, backoffice = clients["admin"], clients["backoffice"]
    closed_bid = bidding["closed_bids"][0]
    invited_bid = bidding["invited_bids"][0]
    stamp = ["write_date", "round", "awarded", "agreement_line"]
    before = admin.read("relief.bidding.bid", [closed_bid], stamp)
    refused(backoffice, "relief.bidding.bid", "write", [closed_bid],
        {"price": _decimal(1)})
    refused(backoffice, "relief.bidding.round", "write",
        [bidding["closed"]], {"bids": [("write", [closed_bid],
                    {"price": _decimal(1)})]})
    refused(backoffice, "relief.bidding.bid", "delete", [closed_bid])
    assert admin.read("relief.bidding.bid", [closed_bid], stamp) == before
    invited_before = admin.read("relief.bidding.bid", [invited_bid], stamp)
    move, line = bidding["move"]
    moved_before = admin.read("relief.bidding.bid", [move], stamp)
    refused(backoffice, "relief.bidding.bid", "write", [move],
        {"round": bidding["closed"], "line": line})
    assert admin.read("relief.bidding.bid", [move], stamp) == moved_before
    assert sorted(admin.search("relief.bidding.bid",
            [("round", "=", bidding["closed"])])) == sorted(
        bidding["closed_bids"])
    for values in [{"awarded": True}, {"score": _decimal(100)}]:
        refused(backoffice, "relief.bidding.bid", "write", [invited_bid],
            values)
    assert admin.read("relief.bidding.bid", [invited_bid],
        stamp) == invited_before
    # control: the invited round's bid takes a new price (sealed still)
    backoffice("relief.bidding.bid", "write", [invited_bid],
        {"price": _decimal("12.50")})
    after, = admin.read("relief.bidding.bid", [invited_bid],
        ["write_date", "price"])
    assert after["write_date"] != invited_before[0]["write_date"]
    assert after["price"] is None


def test_bidding_one_member_cannot_open(clients, bidding):
    """The officer opened the closed round: alone, it stays closed and
    sealed however often he opens it; the back office, not of the
    committee, cannot open it; a round not closed is not opened"""
    admin, backoffice = clients["admin"], clients["backoffice"]
    officer = clients["bid_officer"]
    closed, invited = bidding["closed"], bidding["invited"]
    officer("relief.bidding.round", "open_", [closed])
    refused(backoffice, "relief.bidding.round", "open_", [closed])
    for client in [officer, clients["bid_inspector"]]:
        refused(client, "relief.bidding.round", "open_", [invited])
    row = _round(admin, closed)
    assert (row["state"], bool(row["first_opened"]),
        bool(row["second_opened"])) == ("closed", True, False)
    assert _round(admin, invited)["state"] == "invited"
    rows = admin.read("relief.bidding.bid",
        bidding["closed_bids"] + bidding["invited_bids"], SEALED)
    assert all(r[n] is None for r in rows for n in SEALED), rows
    # control: the demo's round, opened by both, reads its figures
    assert _round(admin, bidding["demo"])["second_opened"]


@pytest.mark.parametrize("login", ["finance", "accountant"])
def test_bidding_closed_without_group(server, clients, bidding, login):
    """Without the bidding group, no bid, round, product or invitation
    is read or searched (JSON-RPC; over REST, the integration key
    without the group)"""
    client = clients[login]
    admin = clients["admin"]
    rounds = [bidding["demo"], bidding["closed"]]
    bids = bidding["demo_bids"][:1] + bidding["closed_bids"][:1]
    lines = admin.read("relief.bidding.round", rounds, ["lines"])[0]["lines"]
    invitations = admin.search("relief.bidding.invitation",
        [("round", "in", rounds)], limit=1)
    for model, ids in [("relief.bidding.round", rounds),
            ("relief.bidding.bid", bids),
            ("relief.bidding.round.line", lines),
            ("relief.bidding.invitation", invitations)]:
        refused(client.read, model, ids, ["id"])
        refused(client.search, model, [])
        refused(client, model, "write", ids, {})
    refused(client, "relief.bidding.round", "open_", rounds[1:])
    refused(client, "relief.bidding.bid", "create", [{
                "round": bidding["invited"], "line": lines[0]}])
    # control: the same client reads what its role needs
    assert client.search("res.user", [("id", "=", client.user_id)])
    url, _ = server
    integration = clients["integration"]
    application = admin.search("res.user.application",
        [("user", "=", integration.user_id)], limit=1)
    if not application:
        application = admin("res.user.application", "create",
            [{"user": integration.user_id, "application": "rest"}])
    key = admin.read("res.user.application", application, ["key"])[0]["key"]
    for path in ["model/relief.bidding.bid",
            f"model/relief.bidding.bid/{bids[1]}?f=price",
            "model/relief.bidding.round"]:
        status, body = rest(url, "GET", path, key)
        assert status in {400, 403, 404}, (path, status, body)
        assert b'"price"' not in body, body
    status, _ = rest(url, "GET",
        f"model/res.user/{integration.user_id}", key)
    assert status == 200  # control


@pytest.mark.parametrize("login", ["finance", "accountant"])
def test_bidding_quotations_hidden(server, clients, bidding, login):
    """A round's purchase requests and quotations (its requests for
    quotation) are the bidding's: finance, whose Purchase group reads every
    other quotation, and the accountant neither read nor find them"""
    client, admin = clients[login], clients["admin"]
    origin = f"relief.bidding.round,{bidding['demo']}"
    requests = admin.search("purchase.request", [("origin", "=", origin)])
    quotations = admin.search("purchase.request.quotation",
        [("bidding_round", "=", bidding["demo"])])
    assert requests and quotations  # the demo's award has them
    for model, ids in [("purchase.request", requests),
            ("purchase.request.quotation", quotations)]:
        refused(client.read, model, ids, ["id"])
        try:
            found = client.search(model, [("id", "in", ids)])
        except RPCError as error:  # no access to the model at all
            assert error.name == "UserError", error.args
        else:
            assert not found, (model, found)
    # control: the back office, of the bidding and purchase request groups
    backoffice = clients["backoffice"]
    assert set(backoffice.search("purchase.request.quotation",
        [("id", "in", quotations)])) == set(quotations)
