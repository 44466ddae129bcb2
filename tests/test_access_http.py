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
hash by searching.  Every refusal must be a named error (the server's
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
