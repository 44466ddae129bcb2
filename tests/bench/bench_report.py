# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Time relief_report's progress report on PostgreSQL.

Run by scripts/bench (a throwaway cluster in TRYTOND_DATABASE_URI).  The
database is bench_union.py's "loaded" one (--unions unions, their members,
--lines sale lines of --year; generated set-based in SQL), with
relief_report activated and its monthly running totals rebuilt by
Spending.rebuild (as activating the module does).

The progress of every union for a month (--month) of the year, as the list
of the report reads it: each union's subtree in the month and to date, by
channel, against its target and its share of members (the SQL of
Progress.table_query(), all rows fetched), against a hand-written SQL query
of the same figures on the same running totals: a GROUP BY of the subtree
join (nested set) with the channels' sums, the to-date total and the
members (the baseline).  The target: ≤ 1.2 × the baseline, under a second.
The figures are checked to be the same (the province's to-date total is
also checked against the sale lines) before anything is timed."""
import argparse
import datetime as dt
import random
import statistics
import time
from decimal import Decimal

import bench_union
from bench_certification import (
    drop, execute, guarded, interleaved, log, p90, parse_args,
    refuse_unless)

TARGET = Decimal('1.2')
bench_union.MODULE = 'relief_report'
_rebuild_and_plan = bench_union.rebuild_and_plan


def rebuild_and_plan(cfg, year):
    "bench_union's, then relief_report's monthly running totals"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    _rebuild_and_plan(cfg, year)
    with Transaction().start(cfg.database_name, 0) as transaction:
        start = time.perf_counter()
        Pool(cfg.database_name).get('relief.report.spending').rebuild()
        log(f"    monthly totals rebuilt by Spending.rebuild in "
            f"{time.perf_counter() - start:.1f} s")
        transaction.commit()


bench_union.rebuild_and_plan = rebuild_and_plan


def baseline_query(year, month):
    "The hand-written SQL of the same figures, with its parameters"
    channels = ', '.join(
        f"SUM(CASE WHEN s.channel = '{c}' AND s.month = %(month)s "
        f"THEN s.amount ELSE 0 END) AS {c}"
        for c in ['b2b', 'mall', 'counter', 'offplatform'])
    return (
        'SELECT u.id, t.b2b, t.mall, t.counter, t.offplatform, '
        'COALESCE(t.cumulative, 0), m.members '
        'FROM party_party AS u '
        'LEFT JOIN (SELECT a.id, ' + channels + ', '
        'SUM(s.amount) AS cumulative '
        'FROM party_party AS a JOIN party_party AS b '
        'ON b.union_left >= a.union_left AND b.union_left < a.union_right '
        'JOIN relief_report_spending AS s ON s.union = b.id '
        'AND s.year = %(year)s AND s.month <= %(month)s '
        'GROUP BY a.id) AS t ON t.id = u.id '
        'LEFT JOIN (SELECT a.id, SUM(COALESCE(b.union_members, 0)) '
        'AS members FROM party_party AS a JOIN party_party AS b '
        'ON b.union_left >= a.union_left AND b.union_left < a.union_right '
        'GROUP BY a.id) AS m ON m.id = u.id '
        'WHERE u.union_level IS NOT NULL'), {'year': year, 'month': month}


def sales_total(year, month):
    "The province's to-date total from the sale lines themselves"
    return (
        'SELECT SUM(CASE WHEN l.quantity != 0 THEN l.relief_amount '
        '* CAST(COALESCE(l.actual_quantity, l.quantity) / l.quantity '
        'AS NUMERIC) ELSE 0 END) FROM sale_line AS l '
        'JOIN sale_sale AS s ON l.sale = s.id '
        "WHERE s.state IN ('confirmed', 'processing', 'done') "
        'AND s.relief_union IS NOT NULL AND l.relief_amount IS NOT NULL '
        'AND s.sale_date >= %(start)s AND s.sale_date < %(end)s'), {
        'start': dt.date(year, 1, 1),
        'end': (dt.date(year, month + 1, 1) if month < 12
            else dt.date(year + 1, 1, 1))}


class Report:
    "The two ways of reading the progress, each in a fresh transaction"

    def __init__(self, cfg, year, month):
        from trytond.pool import Pool
        self.cfg, self.year, self.month = cfg, year, month
        self.Progress = Pool(cfg.database_name).get('relief.report.progress')

    def transaction(self):
        from trytond.transaction import Transaction
        return Transaction().start(self.cfg.database_name, self.cfg.user,
            readonly=True, context=dict(self.cfg.context, year=self.year,
                month=self.month))

    def _fetch(self, query):
        with self.transaction() as transaction:
            cursor = transaction.connection.cursor()
            cursor.execute(*query)
            return cursor.fetchall()

    def baseline(self):
        return self._fetch(baseline_query(self.year, self.month))

    def sql(self):
        with self.transaction():
            query = self.Progress.table_query()
        return self._fetch(query)

    def explain(self):
        "EXPLAIN ANALYZE of the table_query"
        with self.transaction() as transaction:
            cursor = transaction.connection.cursor()
            query, params = self.Progress.table_query()
            cursor.execute('EXPLAIN (ANALYZE, BUFFERS) ' + query, params)
            return [r for r, in cursor]

    def check(self):
        "Both give the same figures; the province's adds up the sales"
        from sql import Column
        base = {r[0]: (r[-2], r[-1]) for r in self.baseline()}
        with self.transaction() as transaction:
            cursor = transaction.connection.cursor()
            query = self.Progress.table_query()
            cursor.execute(*query.select(*(Column(query, c) for c in
                        ['union', 'cumulative', 'members', 'level'])))
            rows = cursor.fetchall()
            cursor.execute(*sales_total(self.year, self.month))
            sold, = cursor.fetchone()
        problems = []
        for union, cumulative, members, _ in rows:
            if base.get(union) != (cumulative, members):
                problems.append(f"union {union}: {cumulative, members} "
                    f"against {base.get(union)}")
                break
        province = [c for _, c, _, level in rows if level == 'province']
        if province != [sold]:
            problems.append(f"province {province} against sales {sold}")
        return len(rows), sold, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in [('unions', 60_000), ('industry', 5),
            ('members', 50_000), ('lines', 2_000_000),
            ('lines-per-sale', 5)]:
        parser.add_argument(f'--{name}', type=int, default=default,
            help="as bench_union (default: %(default)s)")
    parser.add_argument('--year', type=int,
        default=dt.date.today().year - 1,
        help="the year of the sales (default: last year, %(default)s)")
    parser.add_argument('--month', type=int, default=9,
        help="the month of the report (default: %(default)s)")
    parser.add_argument('--repeat', type=int, default=10,
        help="timed rounds (default: %(default)s)")
    parser.add_argument('--warmup', type=int, default=2,
        help="untimed rounds first (default: %(default)s)")
    parser.add_argument('--explain', action='store_true',
        help="print EXPLAIN ANALYZE of the table_query")
    args = parse_args(parser, "where the databases are kept as dumps")
    started = time.monotonic()
    names = bench_union.prepare(args)
    try:
        guarded(run, names, args, started)
    finally:
        drop(names)


def run(names, args, started):
    from proteus import config as pconfig
    _, loaded_db = names
    cfg = pconfig.set_trytond(database=loaded_db)
    unions, lines = execute(
        "SELECT (SELECT count(*) FROM party_party WHERE union_level IS NOT "
        "NULL), (SELECT count(*) FROM sale_line)", loaded_db)[0]
    report = Report(cfg, args.year, args.month)
    rows, sold, problems = report.check()
    log(f"progress of {rows:,} unions to {args.year}-{args.month:02}, "
        f"{sold or 0:,.2f} CNY: " + ('the same figures as the baseline'
            if not problems else 'DIFFERS: ' + '; '.join(problems)))
    refuse_unless(not problems, '; '.join(problems))
    refuse_unless(rows and sold, "no spending to report")
    variants = {'baseline': report.baseline, 'sql': report.sql}

    def timed(variant, round_):
        start = time.perf_counter()
        variants[variant]()
        return (time.perf_counter() - start) * 1000
    times = interleaved(variants, args.warmup + args.repeat, args.warmup,
        args.seed, timed)
    print()
    print(f"Loaded: {unions:,} unions, {lines:,} sale lines; progress of "
        f"{args.year}-{args.month:02}")
    header = (f"{'variant':<30} {'median ms':>10} {'p90 ms':>9} "
        f"{'ratio':>6}  target")
    print(header)
    print('-' * (len(header) + 30))
    base = statistics.median(times['baseline'])
    print(f"{'baseline hand-written SQL':<30} {base:>10.1f} "
        f"{p90(times['baseline']):>9.1f}")
    median = statistics.median(times['sql'])
    ratio = Decimal(str(median / base))
    met = ratio <= TARGET and median < 1000
    print(f"{'progress table_query SQL':<30} {median:>10.1f} "
        f"{p90(times['sql']):>9.1f} {ratio:>6.2f}  ≤ 1.2 × baseline, "
        f"< 1 s: {'met' if met else 'NOT met'}")
    if args.explain:
        print()
        print("EXPLAIN ANALYZE, table_query:")
        for line in report.explain():
            print('  ' + line)
    print(f"Total time: {time.monotonic() - started:.0f} s")


if __name__ == '__main__':
    random.seed(0)
    main()
