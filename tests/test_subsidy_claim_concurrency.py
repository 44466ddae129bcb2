# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Finance users generating the claims of one programme at the same time
never claim a subsidy twice, and none of them gets a database error.

PostgreSQL only: SQLite has no row locks.  The test process builds a fresh
database (a programme paying 20 % of everything members buy, 10 confirmed
member orders of 3 products each, and one draft claim of the programme per
worker, all over the same period) and commits it; then 4 spawned OS
processes log in as the finance user with proteus, wait on a barrier and
each click Generate Lines on their claim.  Each worker is held, inside its
transaction and just before it inserts its lines, until all are there or
for a few seconds: without a guard they would all insert the same
subsidies, and all but one fail on the unique constraint with a raw
database error.  Generate Lines first locks the programme's row
(Claim.lock_programs, relief.totals.lock_rows): the others wait for the
first outside their transaction and then run again (a TransactionError,
which trytond's dispatcher and proteus both answer by running the call
again), seeing the subsidies claimed.  Every worker succeeds or is refused
with a named message, none sees a database error, each subsidy is claimed
once, and the claims hold all of them."""
import datetime as dt
import os
import threading
from decimal import Decimal

import pytest

from dbtools import fresh_database, run_together

URI = os.environ.get('TRYTOND_DATABASE_URI', '')
pytestmark = pytest.mark.skipif(
    not URI.startswith('postgresql'),
    reason="concurrency is proven on PostgreSQL only "
    "(TRYTOND_DATABASE_URI=postgresql://...; SQLite has no row locks)")

MODULE = 'relief_subsidy'
PROCESSES = 4
ORDERS = 10
# What a worker may take from spawn (Pool loading included) to its result.
TIMEOUT = 600
# How long a worker holds its transaction open waiting for the others
# before it inserts its lines (the others may be waiting for it).
GATE = 10


def _generate(uri, database, claim_id, barrier, gate, results):
    "Worker: generate the lines of claim_id once every worker is ready"
    os.environ['TRYTOND_DATABASE_URI'] = uri
    # Several processes on one database (DESIGN.md, scaling).
    os.environ['TRYTOND_CACHE__CLEAN_TIMEOUT'] = '0'
    result = {'outcome': 'done', 'claim': claim_id, 'generated': False,
        'refused': [], 'held_alone': False}
    try:
        from unittest import mock

        from proteus import Model, config
        from trytond.exceptions import UserError
        from trytond.pool import Pool

        config.set_trytond(database=database, user='finance')
        ClaimModel = Pool(database).get('relief.subsidy.claim')
        unclaimed_query = ClaimModel._unclaimed_query
        held = []

        def hold_then_query(self):
            "Wait for the other workers at the first insert only"
            if not held:
                held.append(True)
                try:
                    gate.wait(timeout=GATE)
                except threading.BrokenBarrierError:
                    # The others did not come: they wait for this one
                    result['held_alone'] = True
            return unclaimed_query(self)

        Claim = Model.get('relief.subsidy.claim')
        claim = Claim(claim_id)
        barrier.wait(timeout=TIMEOUT)
        with mock.patch.object(
                ClaimModel, '_unclaimed_query', hold_then_query):
            try:
                claim.click('generate')
            except UserError as error:
                result['refused'].append(
                    (type(error).__name__, error.message))
            else:
                result['generated'] = True
    except Exception as exception:
        barrier.abort()
        result.update(outcome='failed', error=repr(exception))
    results.put(result)


@pytest.fixture(scope='module')
def database():
    "A fresh database with confirmed subsidised orders and draft claims"
    from proteus import Model
    from trytond.modules.account.tests.tools import create_chart
    from trytond.modules.company.tests.tools import create_company
    from trytond.modules.relief_subsidy.tests.tools import (
        run_program, sell, set_up)

    with fresh_database(MODULE, 'relief_subsidy_claim_concurrency') as (
            name, cfg):
        today = dt.date.today()
        create_company()
        create_chart()
        s = set_up(today)
        program = run_program(
            s, "专项经费会员补贴", Decimal('10000000'), today)
        members = [s.zhang, s.li, s.wang]
        sales = [sell(members[i % len(members)],
                (s.kiwi, 1), (s.walnut, 2), (s.tea_set, 1),
                payment_term=s.payment_term)
            for i in range(ORDERS)]
        Sale = Model.get('sale.sale')
        Sale.click(sales, 'quote')
        Sale.click(sales, 'confirm')
        Claim = Model.get('relief.subsidy.claim')
        claims = [Claim(program=program, start_date=today.replace(day=1),
                end_date=today) for _ in range(PROCESSES)]
        Claim.save(claims)
        SubsidyLine = Model.get('relief.subsidy.line')
        lines = SubsidyLine.find([('program', '=', program.id)])
        assert len(lines) == ORDERS * 3
        yield {'name': name, 'claims': [c.id for c in claims],
            'lines': {l.id: l.amount for l in lines}}


def test_claims_generated_together(database):
    "4 finance users generate the claims of one programme at once"
    from proteus import Model
    args = [(URI, database['name'], c) for c in database['claims']]

    outcomes = run_together(_generate, args, TIMEOUT)

    # Success or a named refusal, never a database error
    assert all(o['outcome'] == 'done' for o in outcomes), outcomes
    for outcome in outcomes:
        assert outcome['generated'] or outcome['refused'], outcome
        for error, message in outcome['refused']:
            assert error == 'ClaimError', (error, message)
            assert 'Generate the lines again' in message, message
    # The race was run: the first waited in vain for the others, who
    # waited for it
    assert any(o['held_alone'] for o in outcomes), outcomes

    # Each subsidy claimed once, all of them by one of the claims
    ClaimLine = Model.get('relief.subsidy.claim.line')
    claim_lines = ClaimLine.find([('claim', 'in', database['claims'])])
    claimed = [l.subsidy_line.id for l in claim_lines]
    assert len(claimed) == len(set(claimed))
    assert sorted(claimed) == sorted(database['lines'])
    assert all(l.amount == database['lines'][l.subsidy_line.id]
        for l in claim_lines)
    holding = {l.claim.id for l in claim_lines}
    assert len(holding) == 1, holding


def _click_queued(uri, database, claim_id, barrier, gate, results):
    """Worker: click Generate Lines on claim_id, a claim large enough to be
    queued (the threshold lowered to 0), with trytond-worker taking the
    tasks (none run inline)"""
    os.environ['TRYTOND_DATABASE_URI'] = uri
    os.environ['TRYTOND_CACHE__CLEAN_TIMEOUT'] = '0'
    os.environ['TRYTOND_QUEUE__WORKER'] = 'True'
    result = {'outcome': 'done', 'queued': False, 'refused': []}
    try:
        from proteus import Model, config
        from trytond.exceptions import UserError

        cfg = config.set_trytond(database=database, user='finance')
        with cfg.set_context(relief_claim_queue_lines=0):
            # A record clicks with the context it was read with
            claim = Model.get('relief.subsidy.claim')(claim_id)
            barrier.wait(timeout=TIMEOUT)
            try:
                claim.click('generate')
            except UserError as error:
                result['refused'].append(
                    (type(error).__name__, error.message))
            else:
                result['queued'] = True
    except Exception as exception:
        barrier.abort()
        result.update(outcome='failed', error=repr(exception))
    results.put(result)


def test_queued_generation_once_and_requeued(database):
    """4 clicks at once on one large claim queue its generation once; the
    task, taken by a worker that died, is requeued and generates the lines
    once, notifying the user who clicked"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.worker import run_task

    name = database['name']
    claim_id = database['claims'][0]
    pool = Pool(name)
    with Transaction().start(name, 0) as transaction:
        # No subsidy claimed yet, whatever ran before
        ClaimLine = pool.get('relief.subsidy.claim.line')
        ClaimLine.delete(ClaimLine.search([]))
        transaction.commit()

    outcomes = run_together(_click_queued,
        [(URI, name, claim_id)] * PROCESSES, TIMEOUT)

    assert all(o['outcome'] == 'done' for o in outcomes), outcomes
    assert sum(o['queued'] for o in outcomes) == 1, outcomes
    for outcome in outcomes:
        for error, message in outcome['refused']:
            assert error in {'AccessButtonError', 'ClaimError'}, (
                error, message)

    def tasks():
        Queue = pool.get('ir.queue')
        return [t for t in Queue.search([])
            if t.data['method'] == 'generate_queued'
            and list(t.data['instances']) == [claim_id]]

    with Transaction().start(name, 0) as transaction:
        task, = tasks()
        Claim = pool.get('relief.subsidy.claim')
        assert Claim(claim_id).generating
        # Taken two minutes ago by a worker killed since (nothing committed)
        Queue = pool.get('ir.queue')
        Queue.write([task], {'dequeued_at': dt.datetime.now()
                - dt.timedelta(minutes=2)})
        transaction.commit()
    with Transaction().start(name, 0) as transaction:
        assert Queue.relief_requeue_stalled() == [task.id]
        transaction.commit()
    # Run by the next worker, then a copy of it once more
    run_task(name, task.id)
    run_task(name, task.id)

    with Transaction().start(name, 0, readonly=True):
        claim = Claim(claim_id)
        assert not claim.generating
        lines = {l.subsidy_line.id: l.amount for l in claim.lines}
        assert lines == database['lines']
        Notification = pool.get('res.notification')
        notification, = Notification.search([
                ('model', '=', 'relief.subsidy.claim')])
        assert notification.user.login == 'finance'
        assert notification.icon == 'tryton-ok'
        assert notification.records == f'[{claim_id}]'
