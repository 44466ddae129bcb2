# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Two purchases of one supplier confirmed at once cannot both pass its cap.

PostgreSQL only: SQLite has no row locks.  The test process builds a fresh
database (company, chart, a cap rule, a certified supplier and product, two
quoted purchases of 6,000) and commits it; then two spawned OS processes
open the database with proteus, as a user would, wait on a barrier and click
Confirm on one purchase each.  Each confirmation locks the supplier's
certificate rows first (relief.totals.lock_rows): the second finds them
held, waits for the first to end and runs again (a TransactionError, which
trytond's dispatcher and proteus answer by running the call again); run
again, it sees what the first consumed.  With a cap of 10,000 one purchase
passes and the other is refused with PurchaseCapError; with 12,000 both
pass."""
import datetime as dt
import os
import uuid
from decimal import Decimal
from unittest import mock

import pytest

from dbtools import fresh_database, run_together

URI = os.environ.get('TRYTOND_DATABASE_URI', '')
pytestmark = pytest.mark.skipif(
    not URI.startswith('postgresql'),
    reason="concurrency is proven on PostgreSQL only "
    "(TRYTOND_DATABASE_URI=postgresql://...; SQLite has no row locks)")

MODULE = 'relief_certification'
PER_PERSON = Decimal(100)
AMOUNT = Decimal(6000)
# What a worker may take from spawn (Pool loading included) to its result.
TIMEOUT = 120
# A serialization failure reaches the worker as DatabaseOperationalError
# (the dispatcher would retry it, [database] retry); the worker clicks
# again.  Bound those clicks.
CLICKS = 30


def _gate_serialization(database, gate):
    """Hold the first confirmation of this process at the gate until the
    other one is there too: both transactions have read the data (their
    snapshot is taken) before either serializes, so without the
    serialization both would pass the cap.  Runs again go straight through.
    Return the list of the calls, one per run of the confirmation."""
    from trytond.pool import Pool
    Purchase = Pool(database).get('purchase.purchase')
    serialize = Purchase.serialize_relief_caps.__func__
    calls = []

    def gated(cls, purchases, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            gate.wait(timeout=TIMEOUT)
        return serialize(cls, purchases, *args, **kwargs)
    mock.patch.object(Purchase, 'serialize_relief_caps',
        classmethod(gated)).start()
    return calls


def _confirm(uri, database, purchase_id, barrier, gate, results):
    "Worker: confirm one purchase through proteus once both are ready"
    os.environ['TRYTOND_DATABASE_URI'] = uri
    # Several processes on one database (DESIGN.md, scaling).
    os.environ['TRYTOND_CACHE__CLEAN_TIMEOUT'] = '0'
    result = {'purchase': purchase_id, 'clicks': 0}
    try:
        from proteus import Model, config
        from trytond import backend

        config.set_trytond(database=database)
        calls = _gate_serialization(database, gate)
        Purchase = Model.get('purchase.purchase')
        purchase = Purchase(purchase_id)
        assert purchase.state == 'quotation', purchase.state
        barrier.wait(timeout=TIMEOUT)
        while True:
            result['clicks'] += 1
            try:
                purchase.click('confirm')
            except backend.DatabaseOperationalError as error:
                result.setdefault('retried_after', str(error).splitlines()[0])
                if result['clicks'] >= CLICKS:
                    raise
                continue
            break
        result.update(outcome='confirmed', state=purchase.state,
            runs=len(calls))
    except Exception as exception:
        barrier.abort()
        gate.abort()
        result.update(runs=len(calls) if 'calls' in locals() else 0,
            outcome='refused', error=type(exception).__name__,
            message=getattr(exception, 'message', None) or str(exception))
    results.put(result)


@pytest.fixture(scope='module')
def database():
    "A fresh database with a company, a chart, a cap rule and a product"
    from proteus import Model
    from trytond.modules.account.tests.tools import (
        create_chart, create_fiscalyear, get_accounts)
    from trytond.modules.account_invoice.tests.tools import (
        set_fiscalyear_invoice_sequences)
    from trytond.modules.company.tests.tools import create_company
    from trytond.modules.currency.tests.tools import get_currency

    with fresh_database(MODULE, 'relief_concurrency') as (name, cfg):
        today = dt.date.today()

        create_company(currency=get_currency('CNY', config=cfg), config=cfg)
        create_chart(config=cfg)
        fiscalyear = set_fiscalyear_invoice_sequences(
            create_fiscalyear(today=today, config=cfg), config=cfg)
        fiscalyear.click('create_period')
        accounts = get_accounts(config=cfg)

        # The back office certifies and lists; admin confirms purchases.
        Group = Model.get('res.group')
        ModelData = Model.get('ir.model.data')
        User = Model.get('res.user')
        admin = User(cfg.user)
        admin.groups.append(Group(ModelData.get_id(
                    'relief', 'group_relief_back_office', cfg.context)))
        admin.save()

        Rule = Model.get('relief.rule')
        Subdivision = Model.get('country.subdivision')
        county, = Subdivision.find(
            [('relief_level', '=', 'county')], limit=1, order=[('id', 'ASC')])
        # In force since before the cap period starts.
        Rule(jurisdiction=county, kind='purchase_cap_per_person',
            value=PER_PERSON, valid_from=dt.date(today.year - 1, 1, 1),
            source="Test").save()

        Category = Model.get('product.category')
        category = Category(name="Relief", accounting=True,
            account_expense=accounts['expense'],
            account_revenue=accounts['revenue'])
        category.save()
        Uom = Model.get('product.uom')
        unit, = Uom.find([('name', '=', "Unit")])
        Template = Model.get('product.template')
        template = Template(name="猕猴桃", type='goods', relief=True,
            purchasable=True, default_uom=unit, list_price=Decimal(100),
            account_category=category)
        template.save()
        yield {
            'name': name, 'config': cfg, 'today': today, 'county': county,
            'template': template, 'product': template.products[0],
            }


def _supplier(db, poor_people):
    "A certified supplier of the product whose cap is poor_people × 100"
    from proteus import Model
    Party = Model.get('party.party')
    Certification = Model.get('relief.supplier.certification')
    ProductCertification = Model.get('relief.product.certification')

    today, code = db['today'], uuid.uuid4().hex[:8]
    supplier = Party(name=f"周至县猕猴桃专业合作社 {code}")
    supplier.save()
    certification = Certification(supplier=supplier, county=db['county'],
        office="周至县扶贫开发办公室", number=f"ZZ-{code}",
        poor_people=poor_people,
        valid_from=today - dt.timedelta(days=800),
        valid_to=today + dt.timedelta(days=365))
    certification.click('certify')
    product_certification = ProductCertification(template=db['template'],
        supplier=supplier, supplier_certification=certification,
        catalogue_number=f"CAT-{code}",
        valid_from=certification.valid_from, valid_to=certification.valid_to)
    product_certification.click('certify')
    # Listed once it is certified (the first supplier's certificate)
    Entry = Model.get('relief.catalogue.entry')
    if not Entry.find([('template', '=', db['template'].id)]):
        entry = Entry(template=db['template'])
        entry.listed = today - dt.timedelta(days=700)
        entry.click('list_')
    return supplier, certification


def _purchase_dates(today):
    """Two dates of one cap period (a year) in different months: the
    monthly running totals are then different rows, and only the
    serialization on the supplier's certificate can catch the race."""
    year = today.year if today.month >= 3 else today.year - 1
    return [dt.date(year, 1, 15), dt.date(year, 2, 15)]


def _quoted_purchase(db, supplier, date):
    from proteus import Model
    Purchase = Model.get('purchase.purchase')
    purchase = Purchase(party=supplier, purchase_date=date)
    line = purchase.lines.new(product=db['product'])
    line.quantity = 60
    line.unit_price = AMOUNT / 60
    purchase.click('quote')
    assert purchase.untaxed_amount == AMOUNT
    return purchase


def _confirm_together(db, purchases):
    "Confirm purchases in as many processes at once; return their results"
    return run_together(_confirm,
        [(URI, db['name'], p.id) for p in purchases], TIMEOUT)


def _figures(db, supplier, certification):
    "States of the supplier's purchases and what its certification consumed"
    from proteus import Model
    Purchase = Model.get('purchase.purchase')
    Certification = Model.get('relief.supplier.certification')
    states = sorted(p.state for p in Purchase.find(
            [('party', '=', supplier.id)]))
    certification = Certification(certification.id)
    return states, certification.cap, certification.consumed


CONSUMING = {'confirmed', 'processing', 'done'}


def test_cap_holds_when_confirmed_together(database):
    "Of two purchases that together pass the cap, one is refused"
    supplier, certification = _supplier(database, poor_people=100)
    purchases = [_quoted_purchase(database, supplier, date)
        for date in _purchase_dates(database['today'])]

    confirmed, refused = _confirm_together(database, purchases)

    assert confirmed['outcome'] == 'confirmed', (confirmed, refused)
    assert refused['outcome'] == 'refused', (confirmed, refused)
    assert refused['error'] == 'PurchaseCapError', refused
    # The race was run: the refused one had passed the checks on its
    # snapshot, found the rows held, waited and was refused when run again
    # (no serialization error reached the user).
    assert refused['runs'] >= 2, refused
    assert 'retried_after' not in refused, refused
    assert "10,000.00" in refused['message'], refused['message']
    assert supplier.name in refused['message'], refused['message']
    states, cap, consumed = _figures(database, supplier, certification)
    assert cap == Decimal(10000)
    assert [s in CONSUMING for s in states].count(True) == 1, states
    assert 'quotation' in states, states
    assert consumed == AMOUNT


def test_both_pass_within_cap(database):
    "Two purchases that together fit in the cap are both confirmed"
    supplier, certification = _supplier(database, poor_people=120)
    purchases = [_quoted_purchase(database, supplier, date)
        for date in _purchase_dates(database['today'])]

    outcomes = _confirm_together(database, purchases)

    assert [o['outcome'] for o in outcomes] == ['confirmed'] * 2, outcomes
    states, cap, consumed = _figures(database, supplier, certification)
    assert cap == Decimal(12000)
    assert all(s in CONSUMING for s in states) and len(states) == 2, states
    assert consumed == 2 * AMOUNT
