# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Two allocations of one city's reserved quota at once cannot both pass it.

PostgreSQL only: SQLite has no row locks.  The test process builds a fresh
database (a province, a city union whose plan holds a reserved purchase
quota, two county unions below it with plans that have none yet) and
commits it; then two spawned OS processes open the database with proteus,
as a user would, wait on a barrier and each save a quota on one county's
plan.  Each save checks the quota of the upper union (Plan.check_quota),
which first updates the upper union's party row (Plan._serialize_quota):
the second waits for the first and then fails with a serialization error,
which trytond's dispatcher answers by running the call again ([database]
retry; here the worker saves again, as proteus does not retry); run again,
it sees the first allocation.  With a city quota of 100 and 60 for each
county one allocation passes and the other is refused with QuotaError; with
120 both pass."""
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

MODULE = 'relief_union'
# Reserved quota, in 10,000 CNY as the plan keeps it
ALLOCATION = Decimal(60)
# What a worker may take from spawn (Pool loading included) to its result.
TIMEOUT = 120
# A serialization failure reaches the worker as DatabaseOperationalError
# (the dispatcher would retry it, [database] retry); the worker saves
# again.  Bound those saves.
SAVES = 30


def _gate_serialization(database, gate):
    """Hold the first serialization of this process at the gate until the
    other one is there too: both transactions have written their plan and
    read the data (their snapshot is taken) before either serializes, so
    without the serialization both would pass the quota check.  Retries go
    straight through."""
    from trytond.pool import Pool
    Plan = Pool(database).get('relief.union.plan')
    serialize = Plan._serialize_quota.__func__
    first = [True]

    def gated(cls, *args, **kwargs):
        if first.pop() if first else False:
            gate.wait(timeout=TIMEOUT)
        return serialize(cls, *args, **kwargs)
    mock.patch.object(Plan, '_serialize_quota', classmethod(gated)).start()


def _allocate(uri, database, plan_id, quota, barrier, gate, results):
    "Worker: save a quota on one plan through proteus once both are ready"
    os.environ['TRYTOND_DATABASE_URI'] = uri
    # Several processes on one database (DESIGN.md, scaling).
    os.environ['TRYTOND_CACHE__CLEAN_TIMEOUT'] = '0'
    result = {'plan': plan_id, 'saves': 0}
    try:
        from proteus import Model, config
        from trytond import backend

        config.set_trytond(database=database)
        _gate_serialization(database, gate)
        Plan = Model.get('relief.union.plan')
        plan = Plan(plan_id)
        assert plan.quota is None, plan.quota
        plan.quota = quota
        barrier.wait(timeout=TIMEOUT)
        while True:
            result['saves'] += 1
            try:
                plan.save()
            except backend.DatabaseOperationalError as error:
                result.setdefault('retried_after', str(error).splitlines()[0])
                if result['saves'] >= SAVES:
                    raise
                continue
            break
        result.update(outcome='saved', quota=str(plan.quota))
    except Exception as exception:
        barrier.abort()
        gate.abort()
        result.update(
            outcome='refused', error=type(exception).__name__,
            message=getattr(exception, 'message', None) or str(exception))
    results.put(result)


@pytest.fixture(scope='module')
def database():
    "A fresh database with a province union and its plan"
    from proteus import Model

    with fresh_database(MODULE, 'relief_union_concurrency') as (name, cfg):
        year = dt.date.today().year

        Subdivision = Model.get('country.subdivision')
        county, = Subdivision.find(
            [('relief_level', '=', 'county')], limit=1, order=[('id', 'ASC')])
        Party = Model.get('party.party')
        province = Party(name="陕西省总工会", union_level='province',
            union_area=county.parent.parent)
        province.save()
        # Room enough for every city of the tests
        Plan = Model.get('relief.union.plan')
        Plan(union=province, year=year, quota=Decimal(10000)).save()
        yield {
            'name': name, 'config': cfg, 'year': year, 'county': county,
            'province': province,
            }


def _city(db, quota):
    """A city union holding quota, two county unions below it and their
    plans without quota; return the city and the two plans"""
    from proteus import Model
    Party = Model.get('party.party')
    Plan = Model.get('relief.union.plan')

    code = uuid.uuid4().hex[:6]
    city = Party(name=f"测试市总工会 {code}", union_level='city',
        union_parent=db['province'], union_area=db['county'].parent)
    city.save()
    Plan(union=city, year=db['year'], quota=quota).save()
    plans = []
    for side in "AB":
        county = Party(name=f"县总工会 {side} {code}", union_level='county',
            union_parent=city, union_area=db['county'])
        county.save()
        plan = Plan(union=county, year=db['year'])
        plan.save()
        plans.append(plan)
    return city, plans


def _allocate_together(db, plans, quota):
    "Save quota on plans in as many processes at once; return the results"
    return run_together(_allocate,
        [(URI, db['name'], p.id, quota) for p in plans], TIMEOUT)


def _figures(city, plans):
    "The quota of each county's plan, and what the city allocated below"
    from proteus import Model
    Plan = Model.get('relief.union.plan')
    city_plan, = Plan.find([('union', '=', city.id)])
    return ([Plan(p.id).quota for p in plans], city_plan.quota,
        city_plan.allocated)


def test_quota_holds_when_allocated_together(database):
    "Of two allocations that together pass the city's quota, one is refused"
    city, plans = _city(database, quota=Decimal(100))

    # Sorted by outcome: 'refused' before 'saved'
    refused, saved = _allocate_together(database, plans, ALLOCATION)

    assert saved['outcome'] == 'saved', (saved, refused)
    assert refused['outcome'] == 'refused', (saved, refused)
    assert refused['error'] == 'QuotaError', refused
    # The race was run: the refused one had passed the check on its
    # snapshot, failed to serialize and was refused when run again.
    assert 'could not serialize' in refused.get('retried_after', ''), refused
    assert city.name in refused['message'], refused['message']
    # Both allocations against what the city holds
    assert "120" in refused['message'], refused['message']
    assert "100" in refused['message'], refused['message']
    quotas, held, allocated = _figures(city, plans)
    assert {p.id: q for p, q in zip(plans, quotas)} == {
        saved['plan']: ALLOCATION, refused['plan']: None}, quotas
    assert held == Decimal(100)
    assert allocated == ALLOCATION


def test_both_pass_within_quota(database):
    "Two allocations that together fit in the city's quota both pass"
    city, plans = _city(database, quota=Decimal(120))

    outcomes = _allocate_together(database, plans, ALLOCATION)

    assert [o['outcome'] for o in outcomes] == ['saved'] * 2, outcomes
    quotas, held, allocated = _figures(city, plans)
    assert quotas == [ALLOCATION, ALLOCATION], quotas
    assert allocated == 2 * ALLOCATION
