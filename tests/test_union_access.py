# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A union accountant sees their union's subtree over RPC, and nothing else.

The test process builds a database with relief_union (a province, a city,
county unions A and B, a grassroots union and a member under each county,
their plans, a confirmed sale to each grassroots union and to each member
with its invoice, an accountant of county A), starts a real trytond HTTP
server on it and speaks JSON-RPC to it as a client does (POST
/<database>/rpc/): common.db.login, then calls with an
"Authorization: Session base64(login:user id:session)" header.  It reads,
searches, exports (export_data, which checks rules on its own path) and
prints (report.sale.sale.execute), and writes a plan.

Every refusal is paired with its control: the accountant reads A's record
by the same call that refuses B's, and the administrator reads B's record
by that call too, so a refusal for another reason (no model access, a
broken call) fails the test.  Runs on SQLite and PostgreSQL
(TRYTOND_DATABASE_URI), on a database of its own that it drops."""
import datetime as dt
import os
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from dbtools import RPCClient, RPCError, fresh_database, serve

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
# Read before proteus.set_trytond writes the database name into it
URI = os.environ.get("TRYTOND_DATABASE_URI", "")
BACKEND = "postgresql" if URI.startswith("postgresql") else "sqlite"
MODULE = "relief_union"
# Per backend: scripts/test runs both at once.
LOG = VAR / f"union-access-{BACKEND}-trytond.log"
ACCOUNTANT = "accountant_a"
PASSWORDS = {
    "admin": "Adm1n-union-access-Xq7",
    ACCOUNTANT: "Acc0untant-county-A-Zr4",
    }
ACCOUNTANT_RULE = "Union accountant: own union and below"


def _build(cfg):
    "Fill the database; return the ids the test needs by name"
    from proteus import Model
    from trytond.modules.account.tests.tools import (
        create_chart, create_fiscalyear)
    from trytond.modules.account_invoice.tests.tools import (
        set_fiscalyear_invoice_sequences)
    from trytond.modules.company.tests.tools import create_company
    from trytond.modules.currency.tests.tools import get_currency

    today = dt.date.today()
    create_company(currency=get_currency("CNY", config=cfg), config=cfg)
    create_chart(config=cfg)
    fiscalyear = set_fiscalyear_invoice_sequences(
        create_fiscalyear(today=today, config=cfg), config=cfg)
    fiscalyear.click("create_period")
    Company = Model.get("company.company")
    company, = Company.find([])

    Subdivision = Model.get("country.subdivision")
    county, = Subdivision.find([("relief_level", "=", "county")],
        limit=1, order=[("id", "ASC")])
    areas = {"county": county, "city": county.parent,
        "province": county.parent.parent}
    areas["grassroots"] = county

    Party = Model.get("party.party")
    ids = {}

    def union(key, name, level, parent=None):
        party = Party(name=name, union_level=level, union_area=areas[level],
            union_members=50)
        if parent:
            party.union_parent = Party(ids[parent])
        party.save()
        ids[key] = party.id
        return party

    union("province", "陕西省总工会", "province")
    union("city", "测试市总工会", "city", "province")
    for side in "AB":
        union(f"county_{side}", f"县总工会 {side}", "county", "city")
        union(f"grassroots_{side}", f"基层工会 {side}", "grassroots",
            f"county_{side}")
        member = Party(name=f"会员 {side}",
            member_union=Party(ids[f"grassroots_{side}"]),
            member_number=f"UA-{side}-{uuid.uuid4().hex[:6]}")
        address = (member.addresses[0] if member.addresses
            else member.addresses.new())
        address.street = f"{side} 路 1 号"
        member.contact_mechanisms.new(type='email',
            value=f"member.{side.lower()}@example.com")
        member.save()
        ids[f"member_{side}"] = member.id
        ids[f"address_{side}"] = member.addresses[0].id
        ids[f"contact_{side}"] = member.contact_mechanisms[0].id

    Plan = Model.get("relief.union.plan")
    for key in ["county_A", "grassroots_A", "county_B", "grassroots_B"]:
        plan = Plan(union=Party(ids[key]), year=today.year,
            workers=Decimal("0.0050"), gift_total=Decimal("2.0000"),
            gift_standard=Decimal(400), planned_relief=Decimal("0.6000"))
        plan.save()
        ids[f"plan_{key}"] = plan.id

    # A union buys (B2B) and a member buys (B2C), in each county; lines
    # without product are enough for the rules, which look at the parties.
    Sale = Model.get("sale.sale")
    for side in "AB":
        for buyer in ["grassroots", "member"]:
            sale = Sale(party=Party(ids[f"{buyer}_{side}"]))
            line = sale.lines.new()
            line.description = f"节日慰问品 {side}"
            line.quantity = 10
            line.unit_price = Decimal(100)
            sale.click("quote")
            sale.click("confirm")
            assert sale.relief_union.id == ids[f"grassroots_{side}"]
            assert sale.state == "processing", sale.state
            invoice, = sale.invoices
            suffix = "" if buyer == "grassroots" else "_member"
            ids[f"sale{suffix}_{side}"] = sale.id
            ids[f"invoice{suffix}_{side}"] = invoice.id
            ids[f"sale_line{suffix}_{side}"] = sale.lines[0].id
            ids[f"invoice_line{suffix}_{side}"] = invoice.lines[0].id

    Group = Model.get("res.group")
    ModelData = Model.get("ir.model.data")
    User = Model.get("res.user")
    accountant = User(login=ACCOUNTANT, name="County A Accountant",
        relief_union=Party(ids["county_A"]))
    accountant.groups.append(Group(ModelData.get_id(
                "relief", "group_relief_union_accountant", cfg.context)))
    accountant.companies.append(Company(company.id))
    accountant.company = Company(company.id)
    accountant.password = PASSWORDS[ACCOUNTANT]
    accountant.save()
    ids["accountant"] = accountant.id
    admin = User(cfg.user)
    admin.password = PASSWORDS["admin"]
    admin.save()
    return ids


@pytest.fixture(scope="module")
def database():
    "A database with the unions, plans, sales and the accountant"
    from trytond import config

    with fresh_database(MODULE, "relief_union_access") as (name, cfg):
        ids = _build(cfg)
        yield {"name": name, "ids": ids,
            "path": config.get("database", "path")}


@pytest.fixture(scope="module")
def server(database):
    "Serve the database over HTTP; yield its URL"
    with serve(database["name"], database["path"], LOG) as url:
        yield url


@pytest.fixture(scope="module")
def clients(server, database):
    return {login: RPCClient(server, database["name"], login,
            PASSWORDS[login], LOG)
        for login in ["admin", ACCOUNTANT]}


def _refused(call, what):
    "Run call, which must be refused by the accountant's record rule"
    with pytest.raises(RPCError) as info:
        call()
    message = info.value.message
    assert info.value.name == "UserError", (what, info.value.args)
    assert message.startswith("You are not allowed to"), (what, message)
    assert ACCOUNTANT_RULE in message, (what, message)
    return message


# What each model's records are called in the database fixture, and a field
# to read: (model, key of A's record, key of B's record, fields)
RECORDS = [
    ("party.party", "county_A", "county_B",
        ["name", "union_level", "union_parent"]),
    ("party.party", "grassroots_A", "grassroots_B", ["name", "union_parent"]),
    ("party.party", "member_A", "member_B", ["name", "member_union"]),
    ("relief.union.plan", "plan_county_A", "plan_county_B",
        ["union", "year", "gift_total"]),
    ("relief.union.plan", "plan_grassroots_A", "plan_grassroots_B",
        ["union", "year"]),
    ("relief.union.compliance", "county_A", "county_B",
        ["union", "status", "spending"]),
    ("sale.sale", "sale_A", "sale_B",
        ["number", "party", "relief_union", "total_amount"]),
    ("sale.sale", "sale_member_A", "sale_member_B",
        ["number", "party", "relief_union"]),
    ("account.invoice", "invoice_A", "invoice_B", ["party", "total_amount"]),
    ("account.invoice", "invoice_member_A", "invoice_member_B",
        ["party", "total_amount"]),
    # Their access follows the party's, sale's and invoice's (__access__)
    ("party.address", "address_A", "address_B", ["party", "street"]),
    ("party.contact_mechanism", "contact_A", "contact_B", ["party", "value"]),
    ("sale.line", "sale_line_member_A", "sale_line_member_B",
        ["sale", "description", "amount"]),
    ("account.invoice.line", "invoice_line_member_A", "invoice_line_member_B",
        ["invoice", "description", "amount"]),
    ]
IDS = [f"{m}:{a}" for m, a, _, _ in RECORDS]


@pytest.mark.parametrize("model,a,b,fields", RECORDS, ids=IDS)
def test_read(clients, database, model, a, b, fields):
    "The accountant reads A's record and is refused B's; admin reads B's"
    ids = database["ids"]
    accountant, admin = clients[ACCOUNTANT], clients["admin"]

    row, = accountant.read(model, [ids[a]], fields)
    assert row["id"] == ids[a]
    row, = admin.read(model, [ids[b]], fields)
    assert row["id"] == ids[b]
    message = _refused(
        lambda: accountant.read(model, [ids[b]], fields), (model, b))
    assert str(ids[b]) in message
    # Both at once: B's record spoils the read
    _refused(lambda: accountant.read(model, [ids[a], ids[b]], fields),
        (model, a, b))


@pytest.mark.parametrize("model,a,b,fields", RECORDS, ids=IDS)
def test_search(clients, database, model, a, b, fields):
    "The accountant's searches find A's records and never B's"
    ids = database["ids"]
    accountant, admin = clients[ACCOUNTANT], clients["admin"]
    domain = [("id", "in", [ids[a], ids[b]])]

    assert sorted(admin.search(model, domain)) == sorted([ids[a], ids[b]])
    assert accountant.search(model, domain) == [ids[a]]
    assert accountant.search(model, [("id", "=", ids[b])]) == []
    assert accountant.model(model, "search_count",
        [("id", "=", ids[b])]) == 0


def test_search_unions(clients, database):
    "The union tree the accountant sees is county A and below"
    ids = database["ids"]
    accountant, admin = clients[ACCOUNTANT], clients["admin"]
    domain = [("union_level", "!=", None)]
    unions = {k: ids[k] for k in ["province", "city", "county_A",
            "grassroots_A", "county_B", "grassroots_B"]}

    assert set(admin.search("party.party", domain)) >= set(unions.values())
    # Their union, the unions below and those above (whose names show on
    # their own union): not the other county's
    assert sorted(accountant.search("party.party", domain)) == sorted(
        [ids["province"], ids["city"], ids["county_A"], ids["grassroots_A"]])
    # And the members of the unions below
    assert accountant.search("party.party",
        [("member_union", "!=", None)]) == [ids["member_A"]]
    assert sorted(accountant.search("relief.union.plan", [])) == sorted(
        [ids["plan_county_A"], ids["plan_grassroots_A"]])
    assert sorted(accountant.search("sale.sale", [])) == sorted(
        [ids["sale_A"], ids["sale_member_A"]])
    assert sorted(accountant.search("account.invoice", [])) == sorted(
        [ids["invoice_A"], ids["invoice_member_A"]])
    assert sorted(accountant.search("relief.union.compliance", [])) == sorted(
        [ids["county_A"], ids["grassroots_A"]])
    assert sorted(accountant.search("sale.line", [])) == sorted(
        admin.search("sale.line",
            [("sale", "in", [ids["sale_A"], ids["sale_member_A"]])]))


# How the client shows them: a Many2One is read with its rec_name
CLIENT_READS = [
    ("party.party", "county_A", [
            "union_parent.rec_name", "union_area.rec_name",
            "union_members_total"]),
    ("party.party", "member_A", ["member_union.rec_name"]),
    ("relief.union.plan", "plan_county_A", ["union.rec_name", "allocated"]),
    ("relief.union.compliance", "county_A", ["union.rec_name",
            "upper_union.rec_name", "county.rec_name", "reasons"]),
    ("sale.sale", "sale_member_A", ["party.rec_name", "company.rec_name",
            "relief_union.rec_name", "lines"]),
    ("account.invoice", "invoice_member_A", ["party.rec_name",
            "company.rec_name", "lines"]),
    ]


@pytest.mark.parametrize("model,a,fields", CLIENT_READS,
    ids=[f"{m}:{a}" for m, a, _ in CLIENT_READS])
def test_read_as_client(clients, database, model, a, fields):
    "The accountant's own records open in the client"
    ids = database["ids"]
    row, = clients[ACCOUNTANT].read(model, [ids[a]], fields)
    assert row["id"] == ids[a]


@pytest.mark.parametrize("model,a,b,fields", RECORDS, ids=IDS)
def test_export(clients, database, model, a, b, fields):
    "The accountant exports A's record, not B's; admin exports B's"
    ids = database["ids"]
    accountant, admin = clients[ACCOUNTANT], clients["admin"]
    fields = [f for f in fields if f != "id"]

    rows = accountant.export(model, [ids[a]], fields)
    assert len(rows) == 1 and rows[0][0] is not None, rows
    rows = admin.export(model, [ids[b]], fields)
    assert len(rows) == 1 and rows[0][0] is not None, rows
    _refused(lambda: accountant.export(model, [ids[b]], fields), (model, b))


# Paths from A's records to B's: export_data follows relations
PATHS = [
    ("party.party", "county_A", ["name", "union_parent/union_children/name"]),
    ("relief.union.compliance", "county_A",
        ["union/name", "upper_union/union_children/name"]),
    ("relief.union.plan", "plan_county_A",
        ["union/union_parent/union_children/union_children/name"]),
    ]


@pytest.mark.parametrize("model,a,fields", PATHS,
    ids=[f"{m}:{a}" for m, a, _ in PATHS])
def test_export_through_relations(clients, database, model, a, fields):
    "The accountant cannot reach B's records from A's in an export"
    ids = database["ids"]
    accountant, admin = clients[ACCOUNTANT], clients["admin"]

    rows = admin.export(model, [ids[a]], fields)
    names = {v for row in rows for v in row}
    assert "县总工会 B" in names or "基层工会 B" in names, rows
    message = _refused(lambda: accountant.export(model, [ids[a]], fields),
        (model, a, fields))
    assert "Party" in message, message


def test_export_own_details(clients, database):
    "The accountant exports their sales with their lines and parties"
    ids = database["ids"]
    rows = clients[ACCOUNTANT].export("sale.sale",
        [ids["sale_A"], ids["sale_member_A"]],
        ["number", "party/name", "party/member_union/name",
            "lines/description", "relief_union/union_parent/name"])
    assert len(rows) == 2, rows
    assert {r[1] for r in rows} == {"基层工会 A", "会员 A"}, rows
    assert {r[4] for r in rows} == {"县总工会 A"}, rows


def test_print_sale(clients, database):
    "The accountant prints A's sale, not B's; admin prints B's"
    ids = database["ids"]
    accountant, admin = clients[ACCOUNTANT], clients["admin"]

    for client, key in [(accountant, "sale_A"), (admin, "sale_B")]:
        type_, content, _, name = client.report(
            "sale.sale", [ids[key]], "sale.sale")
        assert type_ and content, (key, type_)
    _refused(lambda: accountant.report("sale.sale", [ids["sale_B"]],
            "sale.sale"), "print sale_B")


def test_plan_read_only(clients, database):
    "The accountant cannot write even their own union's plan; admin can"
    ids = database["ids"]
    accountant, admin = clients[ACCOUNTANT], clients["admin"]
    plan = ids["plan_county_A"]

    admin.model("relief.union.plan", "write", [plan], {"comment": "admin"})
    with pytest.raises(RPCError) as info:
        accountant.model("relief.union.plan", "write", [plan],
            {"comment": "accountant"})
    assert info.value.message.startswith(
        'You are not allowed to access "'), info.value.message
    row, = admin.read("relief.union.plan", [plan], ["comment"])
    assert row["comment"] == "admin"
