# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Confirmations at the same time cannot pass a subsidy programme's budget.

PostgreSQL only: SQLite has no row locks.  The test process builds a fresh
database (the distributor, a member, a programme paying 13 CNY per box of
kiwis within a budget of exactly 100 boxes, and 120 quoted member orders of
one box each) and commits it; then 8 spawned OS processes open the database
with proteus, as users would, wait on a barrier and each confirm their 15
orders.  Each confirmation first locks the programme's row
(Program.consume, relief.totals.lock_rows): the others wait for it to end
and run again (proteus, like trytond's dispatcher, runs the call again on
the TransactionError lock_rows raises); run again, a confirmation sees what
the others consumed.  Exactly
100 orders are confirmed, the 20 others are refused with the programme and
what is left, and the programme's running total, the subsidy lines and the
sales agree."""
import datetime as dt
import os
from decimal import Decimal

import pytest

from dbtools import fresh_database, run_together

URI = os.environ.get('TRYTOND_DATABASE_URI', '')
pytestmark = pytest.mark.skipif(
    not URI.startswith('postgresql'),
    reason="concurrency is proven on PostgreSQL only "
    "(TRYTOND_DATABASE_URI=postgresql://...; SQLite has no row locks)")

MODULE = 'relief_subsidy'
PROCESSES = 8
ORDERS = 15
COVERED = 100
SUBSIDY = Decimal('13.00')
# What a worker may take from spawn (Pool loading included) to its result.
TIMEOUT = 600
# Serialization failures reach the worker as DatabaseOperationalError (the
# dispatcher would retry them); the worker confirms again.  Bound that.
ATTEMPTS = 200


def _confirm(uri, database, sale_ids, barrier, gate, results):
    "Worker: confirm each sale once every worker is ready"
    os.environ['TRYTOND_DATABASE_URI'] = uri
    # Several processes on one database (DESIGN.md, scaling).
    os.environ['TRYTOND_CACHE__CLEAN_TIMEOUT'] = '0'
    result = {'outcome': 'done', 'confirmed': [], 'refused': [],
        'retries': 0, 'errors': []}
    try:
        from proteus import Model, config
        from trytond import backend
        from trytond.exceptions import UserError

        config.set_trytond(database=database)
        Sale = Model.get('sale.sale')
        sales = [Sale(i) for i in sale_ids]
        barrier.wait(timeout=TIMEOUT)
        for sale in sales:
            for _ in range(ATTEMPTS):
                try:
                    sale.click('confirm')
                except backend.DatabaseOperationalError:
                    result['retries'] += 1
                    sale = Sale(sale.id)
                    continue
                except UserError as error:
                    result['refused'].append(
                        (sale.id, type(error).__name__, error.message))
                else:
                    result['confirmed'].append(sale.id)
                break
            else:
                result['errors'].append((sale.id, 'too many retries'))
    except Exception as exception:
        barrier.abort()
        result.update(outcome='failed', error=repr(exception))
    results.put(result)


@pytest.fixture(scope='module')
def database():
    "A fresh database with a programme and 120 quoted member orders"
    from proteus import Model
    from trytond.modules.account.tests.tools import create_chart
    from trytond.modules.company.tests.tools import create_company
    from trytond.modules.relief_subsidy.tests.tools import (
        run_program, sell, set_up)

    with fresh_database(MODULE, 'relief_subsidy_concurrency') as (
            name, cfg):
        today = dt.date.today()
        create_company()
        create_chart()
        s = set_up(today)
        program = run_program(
            s, "专项经费会员补贴", SUBSIDY * COVERED, today, s.kiwi)
        sales = []
        members = [s.zhang, s.li, s.wang]
        for i in range(PROCESSES * ORDERS):
            sale = sell(members[i % len(members)], (s.kiwi, 1),
                payment_term=s.payment_term)
            sales.append(sale)
        Sale = Model.get('sale.sale')
        Sale.click(sales, 'quote')
        late = sell(s.zhang, (s.kiwi, 1), payment_term=s.payment_term)
        yield {'name': name, 'program': program.id,
            'sales': [s.id for s in sales], 'late': late.id}


def _as_admin(name):
    "Enter a transaction on name as admin with the admin's context"
    from contextlib import ExitStack

    from trytond.pool import Pool
    from trytond.transaction import Transaction

    stack = ExitStack()
    transaction = stack.enter_context(Transaction().start(name, 0))
    User = Pool().get('res.user')
    admin, = User.search([('login', '=', 'admin')])
    stack.enter_context(transaction.set_user(admin.id))
    stack.enter_context(transaction.set_context(
            User.get_preferences(context_only=True)))
    return stack


def test_quote_while_confirming(database):
    """A quotation of a programme that a confirmation is adding to goes on
    at once: the confirmation's lock of the programme's row (lock_rows)
    leaves alone the foreign-key check of the new subsidy lines (with FOR
    UPDATE it waited, then failed to serialize: an HTTP 503)"""
    import threading

    from trytond.pool import Pool
    from trytond.transaction import Transaction

    name = database['name']
    locked, release = threading.Event(), threading.Event()
    failure = []

    def confirm():
        try:
            with _as_admin(name):
                Sale = Pool().get('sale.sale')
                Sale.confirm([Sale(database['sales'][0])])
                locked.set()
                release.wait(60)
                Transaction().rollback()  # the race below counts on it
        except Exception as exception:
            failure.append(exception)
            locked.set()
    thread = threading.Thread(target=confirm)
    thread.start()
    try:
        assert locked.wait(120) and not failure, failure
        with _as_admin(name):
            Transaction().connection.cursor().execute(
                "SET LOCAL lock_timeout = '5s'")
            Sale = Pool().get('sale.sale')
            sale = Sale(database['late'])
            Sale.quote([sale])
            assert [l.program.id for l in sale.lines[0].subsidy_lines] == [
                database['program']]
            Transaction().rollback()
    finally:
        release.set()
        thread.join(120)


def test_budget_holds_when_confirmed_together(database):
    "8 processes confirm 120 orders; the budget covers exactly 100"
    from proteus import Model
    ids = database['sales']
    chunks = [(URI, database['name'], ids[i::PROCESSES])
        for i in range(PROCESSES)]

    outcomes = run_together(_confirm, chunks, TIMEOUT)

    assert all(o['outcome'] == 'done' for o in outcomes), outcomes
    assert not any(o['errors'] for o in outcomes), outcomes
    confirmed = [i for o in outcomes for i in o['confirmed']]
    refused = [r for o in outcomes for r in o['refused']]
    assert len(confirmed) == COVERED, (len(confirmed), len(refused))
    assert len(refused) == len(ids) - COVERED
    # Refused cleanly: by the budget, naming the programme and what is left
    for _, error, message in refused:
        assert error == 'BudgetError', (error, message)
        assert '专项经费会员补贴' in message, message
        assert '$0.00 left' in message, message
    # The race was run: confirmations waited and were run again
    print("retries:", sum(o['retries'] for o in outcomes))

    # Nothing lost or half-written
    Program = Model.get('relief.subsidy.program')
    Sale = Model.get('sale.sale')
    SubsidyLine = Model.get('relief.subsidy.line')
    program = Program(database['program'])
    assert program.consumed == SUBSIDY * COVERED, program.consumed
    assert program.remaining == 0
    done = Sale.find([('id', 'in', ids), ('state', '=', 'processing')])
    assert sorted(s.id for s in done) == sorted(confirmed)
    quoted = Sale.find([('id', 'in', ids), ('state', '=', 'quotation')])
    assert sorted(s.id for s in quoted) == sorted(r[0] for r in refused)
    lines = SubsidyLine.find([('sale', 'in', ids)])
    assert len(lines) == len(ids)
    assert sorted(l.sale.id for l in lines if l.state == 'confirmed') == (
        sorted(confirmed))
    assert sum(l.amount for l in lines if l.state == 'confirmed') == (
        program.consumed)
    assert all(l.state == 'quotation' for l in lines
        if l.sale.id not in set(confirmed))
    # Each confirmed sale has its customer invoice at the member's share
    for sale in done:
        invoice, = sale.invoices
        assert invoice.total_amount == Decimal('52.00')
