# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A union buyer (工会采购员) over HTTP, as a client and an attacker would.

The test process builds a database with relief_mall (the unions of
relief_subsidy's test tools, the annual plans of 周至县 and the cities above
it, a sale of 安康 typed by the back office, the buyer of 周至县 and a
second buyer of 周至县 who is also in the group REST API, as a union's own
purchasing system would be), starts a real trytond on it (one server for
every test) and speaks JSON-RPC and the REST API to it.

The buyer orders for their union and sends the order to the back office
(the controls: these succeed), and cannot read, search, export, change or
quote 安康's order, create an order for 安康, confirm or process their own
order, nor write its state; over the REST API the same, and a buyer
without the group REST API is refused every call.  Every refusal is a
named error (UserError, which AccessError is) or an HTTP 403/400, and what
it tried is checked not to have happened.  Runs on SQLite and PostgreSQL
(TRYTOND_DATABASE_URI)."""
import datetime as dt
import json
import os
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

from dbtools import RPCClient, RPCError, fresh_database, serve

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
LOG = VAR / "mall-buyer-http-trytond.log"
PG = os.environ.get("TRYTOND_DATABASE_URI", "").startswith("postgresql")
PASSWORDS = {
    "admin": "Mall-admin-Qx81-festival",
    "buyer": "Mall-buyer-Zt52-mooncake",
    "buyer_api": "Mall-buyer-api-Hs37-lantern",
    }


def _build(cfg):
    "Fill the database; return the ids the tests use"
    from proteus import Model
    from trytond.modules.account.tests.tools import create_chart
    from trytond.modules.company.tests.tools import (
        create_company, get_company)
    from trytond.modules.relief_subsidy.tests.tools import sell, set_up

    create_company()
    create_chart()
    today = dt.date.today()
    s = set_up(today)
    Group = Model.get("res.group")
    ModelData = Model.get("ir.model.data")
    Plan = Model.get("relief.union.plan")
    User = Model.get("res.user")
    Application = Model.get("res.user.application")
    for union, quota in [(s.province, "50"), (s.xian, "20"),
            (s.zhouzhi, "10")]:
        plan = Plan(union=union, year=today.year, quota=Decimal(quota))
        plan.click("confirm")
    for union in [s.zhouzhi, s.ankang]:
        union.customer_payment_term = s.payment_term
        union.save()

    def user(login, groups):
        record = User(login=login, name=login, password=PASSWORDS[login])
        for xml_id in groups:
            record.groups.append(Group(ModelData.get_id(
                        *xml_id.split("."), cfg.context)))
        record.relief_union = s.zhouzhi
        record.companies.append(get_company())
        record.company = get_company()
        record.save()
        return record
    buyer = user("buyer", ["relief_mall.group_union_buyer"])
    buyer_api = user("buyer_api", ["relief_mall.group_union_buyer",
            "relief.group_rest_api"])
    keys = {}
    for record in [buyer, buyer_api]:
        application = Application(user=record, application="rest")
        application.save()
        keys[record.login] = application.key
    other = sell(s.ankang, (s.kiwi, 10), payment_term=s.payment_term)
    admin = User(cfg.user)
    admin.password = PASSWORDS["admin"]
    admin.save()
    return {"other": other.id, "zhouzhi": s.zhouzhi.id,
        "ankang": s.ankang.id, "kiwi": s.kiwi.id,
        "unit": s.kiwi.default_uom.id,
        "address": s.zhouzhi.addresses[0].id,
        "payment_term": s.payment_term.id, "keys": keys}


@pytest.fixture(scope="module")
def database():
    from trytond import config

    with fresh_database("relief_mall", "relief_mall_buyer") as (name, cfg):
        ids = _build(cfg)
        yield {"name": name, "ids": ids,
            "path": config.get("database", "path")}


@pytest.fixture(scope="module")
def server(database):
    with serve(database["name"], database["path"], LOG) as url:
        yield url


@pytest.fixture(scope="module")
def clients(server, database):
    return {login: RPCClient(server, database["name"], login,
            PASSWORDS[login], LOG)
        for login in ["admin", "buyer"]}


@pytest.fixture(scope="module")
def own(clients, database):
    "An order of the buyer for their union, sent to the back office"
    buyer = clients["buyer"]
    ids = database["ids"]
    sale, = buyer("sale.sale", "create", [{
                "party": ids["zhouzhi"],
                "invoice_address": ids["address"],
                "shipment_address": ids["address"],
                "payment_term": ids["payment_term"],
                "lines": [("create", [{
                                "product": ids["kiwi"], "unit": ids["unit"],
                                "quantity": 20, "unit_price": "65",
                                "type": "line"}])],
                }])
    buyer("sale.sale", "quote", [sale])
    return sale


def _union_sales(clients, database):
    "The sales of the buyer's union, as the administrator finds them"
    return clients["admin"].search("sale.sale",
        [("party", "=", database["ids"]["zhouzhi"])])


def _state(clients, sale):
    return clients["admin"].read("sale.sale", [sale], ["state"])[0]["state"]


def refused(call, *args):
    """call(*args) must be refused with a named error (UserError, which
    AccessError is) or HTTP 403; return its message"""
    with pytest.raises(RPCError) as info:
        call(*args)
    assert info.value.name in {"UserError", "Forbidden"}, info.value.args
    return info.value.message


def rest(server, database, method, path, key, data=None):
    "Call the REST API with a user application key; (status, body)"
    request = urllib.request.Request(
        f"{server}{database['name']}/rest/{path}", method=method,
        data=json.dumps(data).encode() if data is not None else None,
        headers={"Authorization": f"bearer {key}",
            "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# JSON-RPC

def test_own_order(clients, database, own):
    "Control: the buyer's order is their union's union order, quoted"
    sale, = clients["buyer"].read("sale.sale", [own],
        ["party", "union_order", "state", "union_quota", "union_effect"])
    assert sale["party"] == database["ids"]["zhouzhi"]
    assert sale["union_order"]
    assert sale["state"] == "quotation"
    # JSON-RPC sends a Decimal as {"__class__": "Decimal", "decimal": ...}
    assert Decimal(sale["union_quota"]["decimal"]) == Decimal("100000")
    assert sale["union_effect"]


def test_other_union_hidden(clients, database, own):
    "The buyer reads, searches and exports no order of another union"
    admin, buyer = clients["admin"], clients["buyer"]
    other = database["ids"]["other"]
    assert admin.read("sale.sale", [other], ["number"])  # control
    message = refused(buyer.read, "sale.sale", [other], ["number"])
    assert "Union buyer: own union's orders" in message, message
    assert buyer.search("sale.sale", []) == _union_sales(clients, database)
    assert buyer.search("sale.sale", [("id", "=", other)]) == []
    refused(buyer.export, "sale.sale", [other], ["number", "party/name"])
    lines = admin.search("sale.line", [("sale", "=", other)])
    refused(buyer.read, "sale.line", lines, ["quantity"])


def test_other_union_unchanged(clients, database, own):
    "The buyer changes, quotes or orders nothing for another union"
    admin, buyer = clients["admin"], clients["buyer"]
    ids = database["ids"]
    other = ids["other"]
    refused(buyer, "sale.sale", "write", [other], {"description": "x"})
    refused(buyer, "sale.sale", "quote", [other])
    refused(buyer, "sale.sale", "delete", [other])
    refused(buyer, "sale.sale", "create", [{"party": ids["ankang"]}])
    sale, = admin.read("sale.sale", [other], ["description", "state"])
    assert sale["description"] is None and sale["state"] == "draft"
    if PG:
        # On SQLite the server shares one connection between transactions:
        # a create refused by a record rule after its INSERT is kept there
        # (trytond's Cache.sync sets the connection to autocommit).
        assert not admin.search("sale.sale", [
                ("party", "=", ids["ankang"]), ("id", "!=", other)])


def test_no_confirmation(clients, own):
    "The buyer neither confirms nor processes their own order"
    buyer = clients["buyer"]
    refused(buyer, "sale.sale", "confirm", [own])
    refused(buyer, "sale.sale", "process", [own])
    assert _state(clients, own) == "quotation"


def test_no_state_write(clients, database, own):
    "Nor writes its state, nor creates an order in another state"
    buyer = clients["buyer"]
    message = refused(buyer, "sale.sale", "write", [own],
        {"state": "confirmed"})
    assert "buttons" in message, message
    refused(buyer, "sale.sale", "write", [own], {"union_order": False})
    refused(buyer, "sale.sale", "create", [{
                "party": database["ids"]["zhouzhi"], "state": "confirmed"}])
    assert _state(clients, own) == "quotation"
    sale, = clients["admin"].read("sale.sale", [own], ["union_order"])
    assert sale["union_order"]


# REST API

def test_rest_closed_to_buyer(server, database, own):
    "A buyer without the group REST API gets 403, even for their order"
    key = database["ids"]["keys"]["buyer"]
    status, _ = rest(server, database, "GET", f"model/sale.sale/{own}", key)
    assert status == 403


def test_rest_own_not_others(server, database, clients, own):
    "Over REST the buyer reads their order, not another union's"
    key = database["ids"]["keys"]["buyer_api"]
    other = database["ids"]["other"]
    status, body = rest(server, database, "GET",
        f"model/sale.sale/{own}", key)
    assert status == 200, body  # control
    assert json.loads(body)["id"] == own
    status, body = rest(server, database, "GET",
        f"model/sale.sale/{other}", key)
    assert status in {403, 404}, (status, body)
    status, body = rest(server, database, "GET", "model/sale.sale", key)
    assert status == 200, body
    assert sorted(r["id"] for r in json.loads(body)) == sorted(
        _union_sales(clients, database))


def test_rest_no_confirmation_nor_state(server, database, clients, own):
    "Over REST the buyer confirms nothing and writes no state"
    key = database["ids"]["keys"]["buyer_api"]
    other = database["ids"]["other"]
    for method, path, data in [
            ("POST", f"model/sale.sale/{own}/confirm", {}),
            ("POST", f"model/sale.sale/{own}/process", {}),
            ("PUT", f"model/sale.sale/{own}", {"state": "confirmed"}),
            ("PUT", f"model/sale.sale/{other}", {"state": "confirmed"}),
            ("POST", f"model/sale.sale/{other}/quote", {}),
            ]:
        status, body = rest(server, database, method, path, key, data)
        assert status in {400, 403, 404}, (path, status, body)
    assert _state(clients, own) == "quotation"
    assert _state(clients, other) == "draft"
