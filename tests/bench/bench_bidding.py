# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Time relief_bidding's scoring and supplier scorecard on PostgreSQL.

Run by scripts/bench (a throwaway cluster in TRYTOND_DATABASE_URI).

  scoring     the scores of a round of N bids (N certified suppliers, one
              product), Bid.compute_scores as the second committee
              member's Open runs it, against a hand-written UPDATE … FROM
              of the same figures (window functions per product; the
              带贫人数 and the quality record, the scorecard's pass rate
              included, read as the module reads them);
              the scores each wrote are read after the timing, to compare
  scorecard   the scorecards of M certified suppliers over a year of
              receipts (R done supplier shipments each, one inspection
              each), read as the client's list reads them (search_read of
              every column in the list's order: the supplier's name),
              against the hand-written query of the same rows in the same
              order; and the module's query alone (its table_query in the
              same order), to tell the query from the ORM's reading: the
              ORM runs the query twice (search, then read) and spends
              per record time that grows with the records read (Tryton's
              ModelStorage.__init__ asserts every id of the list for each
              record: N² with Python's asserts on; psycopg builds the
              cursor's description for each row of cursor_dict)

Each timing is a transaction rolled back, so every repeat does the same
work.  Prints medians beside the target (≤ 1.5 × the hand-written SQL);
asserts no timing, but exits non-zero when the work timed is not the work
named (the scores or the figures differ from the hand-written ones)."""
import argparse
import datetime as dt
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

from sql import Column

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_certification import (  # noqa: E402
    create_database, drop, guarded, log, parse_args, refuse_unless,
    set_up_company)

MODULE = 'relief_bidding'
TARGET = 1.5


def timed(function, repeat, check=None):
    """Median ms of function() in a transaction rolled back, repeat times,
    and what check() (untimed, before the rollback; else function) gives"""
    from trytond.transaction import Transaction
    times, result = [], None
    for _ in range(repeat):
        with Transaction().new_transaction() as transaction:
            start = time.perf_counter()
            result = function()
            times.append((time.perf_counter() - start) * 1000)
            if check:
                result = check()
            transaction.rollback()
    return statistics.median(times), result


def set_up(rng, suppliers, bids, receipts):
    "Certified suppliers, a round of one product with a bid each, receipts"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Party = pool.get('party.party')
    Subdivision = pool.get('country.subdivision')
    Certification = pool.get('relief.supplier.certification')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    User = pool.get('res.user')
    Round = pool.get('relief.bidding.round')
    Bid = pool.get('relief.bidding.bid')
    Shipment = pool.get('stock.shipment.in')
    Control = pool.get('quality.control')
    Inspection = pool.get('quality.inspection')
    Location = pool.get('stock.location')
    today = dt.date.today()
    company = Transaction().context['company']

    county, = Subdivision.search(
        [('relief_level', '=', 'county')], limit=1, order=[('id', 'ASC')])
    parties = Party.create([{'name': f"合作社 {i:04d}"}
            for i in range(suppliers)])
    certifications = Certification.create([{
                'supplier': p.id, 'county': county.id,
                'office': "县扶贫开发办公室", 'number': f"B-{p.id}",
                'poor_people': rng.randint(5, 500),
                'valid_from': today - dt.timedelta(days=400),
                'valid_to': today + dt.timedelta(days=400),
                } for p in parties])
    Certification.write(certifications, {'state': 'certified'})
    unit, = Uom.search([('name', '=', "Unit")])
    template, = Template.create([{'name': "中秋礼盒", 'type': 'goods',
                'relief': True, 'purchasable': True,
                'list_price': Decimal(50),
                'default_uom': unit.id, 'purchase_uom': unit.id,
                'products': [('create', [{}])]}])
    users = User.create([{'login': f'member{i}', 'name': f"委员 {i}"}
            for i in range(2)])
    now = dt.datetime.now()
    round_, = Round.create([{
                'company': company, 'name': "2026 中秋大礼包",
                'delivery_from': today, 'delivery_to': today,
                'closing': now + dt.timedelta(days=1),
                'opening': now + dt.timedelta(days=1),
                'committee_first': users[0].id,
                'committee_second': users[1].id,
                'lines': [('create', [{'product': template.products[0].id,
                                'quantity': 10000, 'unit': unit.id}])],
                'invitations': [('create', [{'supplier': p.id}
                            for p in parties])],
                }])
    Round.write([round_], {'state': 'invited'})
    line, = round_.lines
    Bid.create([{
                'round': round_.id, 'supplier': p.id, 'line': line.id,
                'price': Decimal(rng.randint(3000, 6000)) / 100,
                'quantity': 10000, 'capacity': rng.randint(2000, 20000),
                'delivery_date': today,
                } for p in parties[:bids]])
    # Opened by its committee: the transition without the clock
    Round.write([round_], {'state': 'opened'})

    warehouse, = Location.search([('type', '=', 'warehouse')], limit=1)
    control, = Control.create([{'name': "到货抽检",
                'operations': ['stock.shipment.in:receive'],
                'points': [('create', [{'name': 'residue',
                                'string': "农药残留", 'type_': 'float',
                                'tolerance_upper': 0.5}])]}])
    start = today - dt.timedelta(days=365)
    vlist = []
    for party in parties:
        for i in range(receipts):
            date = start + dt.timedelta(days=rng.randint(0, 364))
            vlist.append({
                    'company': company, 'supplier': party.id,
                    'warehouse': warehouse.id, 'state': 'done',
                    'warehouse_input': warehouse.input_location.id,
                    'warehouse_storage': warehouse.storage_location.id,
                    'planned_date': date,
                    'effective_date': date + dt.timedelta(
                        days=rng.choice([0, 0, 0, 1])),
                    })
    shipments = []
    for i in range(0, len(vlist), 2000):
        shipments += Shipment.create(vlist[i:i + 2000])
    ivlist = [{
            'company': company, 'control': control.id,
            'origin': str(s), 'points': {'residue': 0.1},
            'state': rng.choice(['passed'] * 9 + ['failed']),
            'processed_at': dt.datetime.combine(
                s.effective_date, dt.time(10)),
            } for s in shipments]
    for i in range(0, len(ivlist), 2000):
        Inspection.create(ivlist[i:i + 2000])
    return round_.id


SCORES_SQL = """
WITH b AS (
    SELECT bid.id, bid.line, bid.price, bid.capacity, l.quantity,
        COALESCE(c.poor_people, 0) AS pp, i.inspections, i.passed,
        (SELECT COUNT(DISTINCT pc.template)
            FROM relief_product_certification pc
            WHERE pc.supplier = bid.supplier AND pc.template IN (
                SELECT e.template FROM relief_catalogue_entry e
                WHERE e.state = 'delisted'
                    AND e.delist_reason IN ('quality', 'food_safety')
                    AND e.delisted >= %(today)s::date - 3 * 365)) AS incidents
    FROM relief_bidding_bid bid
    JOIN relief_bidding_round_line l ON l.id = bid.line
    LEFT JOIN relief_supplier_certification c ON c.supplier = bid.supplier
        AND c.state = 'certified' AND c.valid_from <= %(today)s::date
        AND c.valid_to >= %(today)s::date
    LEFT JOIN (SELECT s.supplier, COUNT(*) AS inspections,
            SUM(CASE WHEN q.state = 'passed' THEN 1 ELSE 0 END) AS passed
        FROM quality_inspection q JOIN stock_shipment_in s
            ON q.origin = 'stock.shipment.in,' || s.id
        WHERE q.state IN ('passed', 'failed')
            AND q.processed_at >= %(today)s::date - 365
            AND q.processed_at < %(today)s::date + 1
        GROUP BY s.supplier) AS i ON i.supplier = bid.supplier
    WHERE bid.round = %(round)s),
s AS (
    SELECT id,
        ROUND(%(price)s * MIN(price) OVER w / price, 2) AS sp,
        COALESCE(ROUND(%(poor)s * pp / NULLIF(MAX(pp) OVER w, 0), 2), 0)
            AS spp,
        ROUND(COALESCE(passed::numeric / NULLIF(inspections, 0), 1)
            / (1 + incidents) * %(quality)s, 2) AS sq,
        ROUND(%(capacity)s * LEAST(capacity / quantity, 1)::numeric, 2)
            AS sc
    FROM b WINDOW w AS (PARTITION BY line))
UPDATE relief_bidding_bid SET score_price = s.sp,
    score_poor_people = s.spp, score_quality = s.sq,
    score_capacity = s.sc, score = s.sp + s.spp + s.sq + s.sc
FROM s WHERE relief_bidding_bid.id = s.id
"""

SCORECARD_SQL = """
SELECT c.supplier,
    COALESCE(r.receipts, 0), COALESCE(r.on_time, 0),
    COALESCE(i.inspections, 0), COALESCE(i.passed, 0),
    COALESCE(t.returns, 0), COALESCE(k.recalls, 0), COALESCE(w.won, 0),
    r.on_time::float / NULLIF(r.receipts, 0),
    i.passed::float / NULLIF(i.inspections, 0)
FROM (SELECT supplier FROM relief_supplier_certification GROUP BY supplier)
    AS c
LEFT JOIN (SELECT supplier, COUNT(*) AS receipts,
        SUM(CASE WHEN effective_date <= COALESCE(planned_date,
            effective_date) THEN 1 ELSE 0 END) AS on_time
    FROM stock_shipment_in WHERE state = 'done'
        AND effective_date BETWEEN %(start)s AND %(end)s
    GROUP BY supplier) AS r ON r.supplier = c.supplier
LEFT JOIN (SELECT s.supplier, COUNT(*) AS inspections,
        SUM(CASE WHEN q.state = 'passed' THEN 1 ELSE 0 END) AS passed
    FROM quality_inspection q JOIN stock_shipment_in s
        ON q.origin = 'stock.shipment.in,' || s.id
    WHERE q.state IN ('passed', 'failed')
        AND q.processed_at >= %(first)s AND q.processed_at < %(last)s
    GROUP BY s.supplier) AS i ON i.supplier = c.supplier
LEFT JOIN (SELECT supplier, COUNT(*) AS returns
    FROM stock_shipment_in_return WHERE state = 'done'
        AND effective_date BETWEEN %(start)s AND %(end)s
    GROUP BY supplier) AS t ON t.supplier = c.supplier
LEFT JOIN (SELECT l.party AS supplier, COUNT(DISTINCT r.id) AS recalls
    FROM relief_trace_recall_line l JOIN relief_trace_recall r
        ON r.id = l.recall
    WHERE l.direction = 'upstream' AND r.state IN ('started', 'done')
        AND r.started_at >= %(first)s AND r.started_at < %(last)s
    GROUP BY l.party) AS k ON k.supplier = c.supplier
LEFT JOIN (SELECT b.supplier, COUNT(*) AS won
    FROM relief_bidding_bid b JOIN relief_bidding_round o ON o.id = b.round
    WHERE b.awarded AND o.state = 'awarded'
        AND o.closing >= %(first)s AND o.closing < %(last)s
    GROUP BY b.supplier) AS w ON w.supplier = c.supplier
JOIN party_party p ON p.id = c.supplier
ORDER BY p.name, c.supplier
"""


def bench(args, round_id):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Round = pool.get('relief.bidding.round')
    Bid = pool.get('relief.bidding.bid')
    Config = pool.get('relief.bidding.configuration')
    Scorecard = pool.get('relief.bidding.scorecard')
    config = Config(1)

    def scores():
        Bid.compute_scores([Round(round_id)])

    def scores_sql():
        cursor = Transaction().connection.cursor()
        cursor.execute(SCORES_SQL, {
                # The company's today, as the module's (not the server's)
                'today': pool.get('ir.date').today(),
                'round': round_id, 'price': config.weight_price,
                'poor': config.weight_poor_people,
                'quality': config.weight_quality,
                'capacity': config.weight_capacity})

    def written():
        "The scores as the committee reads them"
        return sorted(
            (b['id'], b['score']) for b in Bid.search_read(
                [('round', '=', round_id)], fields_names=['score']))

    today = dt.date.today()
    start = today - dt.timedelta(days=365)
    names = ['supplier', 'receipts', 'on_time', 'inspections',
        'inspections_passed', 'returns', 'recalls', 'bids_won',
        'on_time_rate', 'pass_rate']

    def cards():
        with Transaction().set_context(
                scorecard_from_date=start, scorecard_to_date=today):
            # In the list's order (the supplier's name), as it reads them
            # (a copy: search_read adds 'id' to the list it is given)
            rows = Scorecard.search_read([], fields_names=list(names))
        return [tuple(r[n] for n in names) for r in rows]

    def cards_query():
        "The module's query (its table_query) in the list's order"
        party = pool.get('party.party').__table__()
        with Transaction().set_context(
                scorecard_from_date=start, scorecard_to_date=today):
            cards = Scorecard.table_query()
        cursor = Transaction().connection.cursor()
        cursor.execute(*cards.join(party,
                condition=cards.supplier == party.id).select(
                *[Column(cards, n) for n in names],
                order_by=[party.name, cards.supplier]))
        return [tuple(r) for r in cursor]

    def cards_sql():
        cursor = Transaction().connection.cursor()
        cursor.execute(SCORECARD_SQL, {
                'start': start, 'end': today,
                'first': dt.datetime.combine(start, dt.time()),
                'last': dt.datetime.combine(
                    today + dt.timedelta(days=1), dt.time())})
        return [tuple(r) for r in cursor]

    results = {}
    for label, function, check in [
            ('scoring', scores, written),
            ('scoring SQL', scores_sql, written),
            ('scorecard', cards, None),
            ('scorecard SQL', cards_sql, None),
            ('scorecard query', cards_query, None),
            ]:
        log(f"timing {label}")
        results[label] = timed(function, args.repeat, check)
    refuse_unless(results['scoring'][1] == results['scoring SQL'][1]
        and len(results['scoring'][1]) == args.bids
        and all(score is not None for _, score in results['scoring'][1]),
        "the scores differ from the hand-written UPDATE")
    refuse_unless(results['scorecard'][1] == results['scorecard SQL'][1]
        == results['scorecard query'][1],
        "the scorecards differ from the hand-written query")
    return {k: v[0] for k, v in results.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--bids', type=int, default=500,
        help="bids of the round, one a supplier (default: %(default)s)")
    parser.add_argument('--suppliers', type=int, default=575,
        help="certified suppliers of the scorecards (at least --bids)")
    parser.add_argument('--receipts', type=int, default=24,
        help="receipts a supplier over the year (default: %(default)s)")
    parser.add_argument('--repeat', type=int, default=9)
    args = parse_args(parser)
    name = f'relief_bench_bidding_{random.randrange(10**6)}'
    started = time.monotonic()
    create_database(name, args.cache, module=MODULE)
    try:
        guarded(run, name, args, started)
    finally:
        drop([name])


def run(name, args, started):
    from proteus import config as pconfig
    from trytond.transaction import Transaction
    cfg = pconfig.set_trytond(database=name)
    set_up_company(cfg)
    rng = random.Random(args.seed)
    suppliers = max(args.suppliers, args.bids)
    log(f"creating {suppliers} certified suppliers, a round of "
        f"{args.bids} bids, {suppliers * args.receipts:,} receipts")
    with Transaction().start(name, 0, context=cfg.context):
        round_id = set_up(rng, suppliers, args.bids, args.receipts)
        Transaction().commit()
        # The planner's statistics of the new rows, as autovacuum would
        Transaction().connection.cursor().execute('ANALYZE')
        Transaction().commit()
    with Transaction().start(name, 0, context=cfg.context):
        medians = bench(args, round_id)
    print()
    print(f"relief_bidding on PostgreSQL, median of {args.repeat}")
    header = f"{'':<28} {'ms':>9} {'SQL ms':>9} {'ratio':>6}  target"
    print(header)
    print('-' * (len(header) + 10))
    medians['scorecard query SQL'] = medians['scorecard SQL']
    for label, what in [('scoring', f"scores of {args.bids} bids"),
            ('scorecard', f"{suppliers} scorecards, as listed"),
            ('scorecard query', "  the module's query alone")]:
        ms, sql = medians[label], medians[label + ' SQL']
        ratio = ms / sql
        met = 'met' if ratio <= TARGET else 'NOT met'
        print(f"{what:<28} {ms:>9.1f} {sql:>9.1f} {ratio:>6.2f}  "
            f"≤ {TARGET} × SQL: {met}")
    print(f"Total time: {time.monotonic() - started:.0f} s")


if __name__ == '__main__':
    main()
