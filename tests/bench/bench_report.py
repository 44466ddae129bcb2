# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Time relief_report's progress and origin reports on PostgreSQL.

Run by scripts/bench (a throwaway cluster in TRYTOND_DATABASE_URI).  The
database is bench_union.py's "loaded" one (--unions unions, their members,
--lines sale lines of --year; generated set-based in SQL) with, generated
set-based in SQL too: --suppliers certified suppliers of relief products
(the set-up's own and the others, spread over the counties, each with a
certificate in force in the year and the poor people it lifts, and
--products-per-supplier certified and listed relief products of its own,
which the sale lines are spread over), --purchase-lines purchase lines
(--lines-per-purchase a purchase) of the suppliers' products, one in ten
of a product that is not relief, most confirmed, processing or done in the
year (a few cancelled, some of the year before); the targets of the year
taken from the plans (as the wizard does) and the province's; relief_report
activated and its monthly running totals (by union and channel, by
product, by supplier and product) rebuilt as activating the module does.

1. The progress of every union for a month (--month) of the year, as the
   list of the report reads it (each union's subtree in the month and to
   date, by channel, against its target and its share of members):
     the SQL of Progress.table_query(), all rows fetched, against the best
     hand-written SQL of the same figures on the same running totals (the
     baseline: plain SQL text as a DBA writes it, each union's row of
     the month in the running totals to date, then the nested-set
     running sum: one sort of the unions' left and right ends, a
     subtree's total is the running sum at its right end minus that
     before its left).  The target: ≤ 1.2 × the baseline, under a
     second.
     The list as the client reads it, "for information": the ORM's
     Progress.search_read of the list's fields in a fresh transaction with
     the year and month in the context, every row (--orm-repeat rounds)
     and the first page of 80 rows.
   Before anything is timed the figures are checked to be the same (every
   column of every row), against the old baseline too (a GROUP BY of each
   union joined to its subtree over the monthly totals by channel, 20
   times slower: a cross-check of the totals to date and of the running
   sums, timed once for information) and the province's to-date total
   against the sale lines.
2. Where the money went in the year, by supplier and county: the SQL of
   Origin.table_query(), all rows fetched, against the best hand-written
   SQL of the same figures on the same running totals (the baseline: the
   totals by product and month sold, by supplier, product and month
   bought, summed per product for the year, then per supplier), checked
   equal first, and against the sale and purchase lines themselves (the
   former baseline, summing the lines per product then per supplier: a
   cross-check, timed once for information).
   The target: ≤ 1.2 × the baseline, under a second.

Variants are interleaved in a random order each round.  The generated
database is kept as a dump in --cache, keyed by a hash of the modules'
files and the sizes, so that a second run only restores it."""
import argparse
import datetime as dt
import random
import statistics
import time
from decimal import Decimal

import bench_union
from bench_certification import (
    drop, execute, guarded, log, p90, parse_args, refuse_unless, uri)

TARGET = Decimal('1.2')
CHANNELS = ['b2b', 'mall', 'counter', 'offplatform']
# The columns of Progress.table_query(), in its order
PROGRESS = ['id', 'union', 'level', 'upper_union', 'city', 'county', 'year',
    'month', 'b2b', 'mall', 'counter', 'platform', 'offplatform', 'total',
    'cumulative', 'target', 'attainment', 'members', 'member_share',
    'spending_share', 'fair_share', 'per_member', 'rank']
# The fields the list view (view/progress_list.xml) reads, as sao asks
LIST_FIELDS = ['union', 'union.rec_name', 'level', 'level:string', 'city',
    'city.rec_name', 'county', 'county.rec_name', 'month', 'b2b', 'mall',
    'counter', 'platform', 'offplatform', 'total', 'cumulative', 'target',
    'attainment', 'members', 'member_share', 'spending_share', 'fair_share',
    'per_member', '_timestamp', '_write', '_delete']
PAGE = 80
# The columns of Origin.table_query(), in its order
ORIGIN = ['id', 'year', 'supplier', 'county', 'city', 'purchases', 'sales',
    'items', 'products', 'enterprises', 'poor_people']
SUPPLIER = "周至县合作社"
REFERENCE = 'bench-report'

bench_union.MODULE = 'relief_report'

# The data: bench_union's, with the suppliers, their products (the sale
# lines spread over them), the purchases and the targets

_loaded_key = bench_union.loaded_key
_sale_products = bench_union.sale_products
_generate = bench_union.generate
_rebuild_and_plan = bench_union.rebuild_and_plan


def loaded_key(args):
    "bench_union's sizes and those of the suppliers and purchases"
    return (_loaded_key(args) + f'-v{args.suppliers}x'
        f'{args.products_per_supplier}-p{args.purchase_lines}x'
        f'{args.lines_per_purchase}')


def sale_products(connection):
    "Every relief product (the suppliers' too), and the one not relief"
    relief, other = _sale_products(connection)
    more = [i for i, in connection.execute(
            'SELECT p.id FROM product_product AS p '
            'JOIN product_template AS t ON p.template = t.id '
            "WHERE t.relief AND t.name LIKE '% BV-%' ORDER BY p.id")]
    return relief + more, other


def model_purchase(name):
    "A draft purchase of a relief product from the set-up's supplier"
    from proteus import Model
    from proteus import config as pconfig
    pconfig.set_trytond(database=name)
    Party = Model.get('party.party')
    Product = Model.get('product.product')
    Purchase = Model.get('purchase.purchase')
    supplier, = Party.find([('name', '=', SUPPLIER)])
    product = Product.find([('template.relief', '=', True)], limit=1,
        order=[('id', 'ASC')])[0]
    purchase = Purchase(party=supplier, reference=REFERENCE + '-model')
    line = purchase.lines.new(product=product)
    line.quantity = 10
    line.unit_price = Decimal(20)
    purchase.save()
    return purchase.id


def generate(name, args):
    """The suppliers and their products, then bench_union's unions and
    sales (over every relief product), then the purchases"""
    model = model_purchase(name)
    import psycopg
    with psycopg.connect(uri(name)) as connection:
        add_suppliers(connection, args)
        connection.commit()
    _generate(name, args)
    with psycopg.connect(uri(name)) as connection:
        add_purchases(connection, args, model)
        connection.commit()


class Copier:
    """Insert copies of rows with some columns overridden, so that the NOT
    NULL columns and the defaults are those Tryton wrote"""

    def __init__(self, connection):
        self.connection = connection

    def one(self, query, params=None):
        return self.connection.execute(query, params).fetchone()

    def columns(self, table):
        return [c for c, in self.connection.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = %s AND column_name != 'id' "
                "ORDER BY ordinal_position", (table,))]

    def __call__(self, table, overrides, source, where, params=None):
        names = self.columns(table)
        unknown = set(overrides) - set(names)
        assert not unknown, (table, unknown)
        cursor = self.connection.execute(
            f'INSERT INTO {table} ('
            + ', '.join(f'"{c}"' for c in names) + ') SELECT '
            + ', '.join(overrides.get(c, f'm."{c}"') for c in names)
            + f' FROM {source} WHERE {where}', params)
        return cursor.rowcount


def add_suppliers(connection, args):
    """args.suppliers - 1 more certified suppliers over the counties (the
    set-up's is the first), args.products_per_supplier certified and
    listed relief products each"""
    copy = Copier(connection)
    year = args.year
    supplier, = copy.one('SELECT id FROM party_party WHERE name = %s',
        (SUPPLIER,))
    certification, = copy.one('SELECT min(id) FROM '
        'relief_supplier_certification WHERE supplier = %s', (supplier,))
    template, product = copy.one(
        'SELECT t.id, p.id FROM product_template AS t '
        'JOIN product_product AS p ON p.template = t.id '
        'WHERE t.name = %s', (bench_union.PRODUCTS[0],))
    more = max(args.suppliers - 1, 0)
    # Suppliers: copies of the set-up's, numbered BV-1…
    copy('party_party', {
            'name': "'帮扶供应商 ' || lpad(g.i::text, 4, '0')",
            'code': "'BV-' || g.i", 'create_date': 'now()',
            'write_date': 'NULL', 'union_left': 'NULL',
            'union_right': 'NULL'},
        'party_party AS m, generate_series(1, %s) AS g(i)',
        'm.id = %s', (more, supplier))
    copy('party_address', {'party': 'p.id', 'create_date': 'now()'},
        "party_address AS m, party_party AS p",
        "m.id = (SELECT min(id) FROM party_address WHERE party = %s) "
        "AND p.code LIKE 'BV-%%'", (supplier,))
    # Their certificates, over the counties in turn: in force during the
    # year (from a day of the year before, for two years)
    counties, = copy.one("SELECT count(*) FROM country_subdivision "
        "WHERE relief_level = 'county'")
    copy('relief_supplier_certification', {
            'supplier': 'p.id',
            'county': 'k.ids[mod(substr(p.code, 4)::int * 7, '
            'cardinality(k.ids)) + 1]',
            'number': "'BENCH-' || p.code",
            'poor_people': '20 + mod(substr(p.code, 4)::int * 37, 3000)',
            'state': "'certified'",
            'valid_from': f"DATE '{year - 1}-01-01' "
            "+ mod(substr(p.code, 4)::int, 360)",
            'valid_to': f"DATE '{year - 1}-01-01' "
            "+ mod(substr(p.code, 4)::int, 360) + 730",
            'create_date': 'now()', 'write_date': 'NULL'},
        'relief_supplier_certification AS m, party_party AS p, '
        "(SELECT array_agg(id ORDER BY id) AS ids FROM country_subdivision "
        "WHERE relief_level = 'county') AS k",
        "m.id = %s AND p.code LIKE 'BV-%%'", (certification,))
    # Their products: copies of the first relief product, named after
    # the supplier
    per = args.products_per_supplier
    names = '{' + ','.join(bench_union.PRODUCTS) + '}'
    copy('product_template', {
            'name': f"(%s::text[])[mod(substr(p.code, 4)::int + g.j, "
            f"{len(bench_union.PRODUCTS)}) + 1] || ' ' || p.code || '-' "
            "|| g.j", 'create_date': 'now()', 'write_date': 'NULL'},
        'product_template AS m, party_party AS p, '
        'generate_series(1, %s) AS g(j)',
        "m.id = %s AND p.code LIKE 'BV-%%'", (names, per, template))
    connection.execute(
        'CREATE TEMPORARY TABLE item AS SELECT t.id AS template, '
        'v.id AS supplier, c.id AS certification '
        'FROM product_template AS t '
        'JOIN party_party AS v '
        "ON v.code = substring(t.name from ' (BV-\\d+)-') "
        'JOIN relief_supplier_certification AS c ON c.supplier = v.id '
        "WHERE t.name LIKE '%% BV-%%'")
    copy('product_product', {'template': 'i.template',
            'create_date': 'now()', 'write_date': 'NULL'},
        'product_product AS m, item AS i', 'm.id = %s', (product,))
    for table in ['product_list_price', 'product_cost_price_method']:
        copy(table, {'template': 'i.template', 'create_date': 'now()'},
            f'{table} AS m, item AS i', 'm.template = %s', (template,))
    copy('product_cost_price', {'product': 'p.id', 'create_date': 'now()'},
        'product_cost_price AS m, item AS i '
        'JOIN product_product AS p ON p.template = i.template',
        'm.product = %s', (product,))
    copy('relief_product_certification', {
            'template': 'i.template', 'supplier': 'i.supplier',
            'supplier_certification': 'i.certification',
            'catalogue_number': "'CAT-R-' || i.template",
            'valid_from': 'c.valid_from', 'valid_to': 'c.valid_to',
            'create_date': 'now()', 'write_date': 'NULL'},
        'relief_product_certification AS m, item AS i '
        'JOIN relief_supplier_certification AS c ON c.id = i.certification',
        'm.id = (SELECT min(id) FROM relief_product_certification '
        'WHERE template = %s)', (template,))
    items = copy('relief_catalogue_entry', {'template': 'i.template',
            'create_date': 'now()', 'write_date': 'NULL'},
        'relief_catalogue_entry AS m, item AS i',
        'm.id = (SELECT min(id) FROM relief_catalogue_entry '
        'WHERE template = %s)', (template,))
    log(f"    {more + 1:,} certified suppliers over {counties:,} counties, "
        f"{items:,} more relief products")


def add_purchases(connection, args, model):
    """args.purchase_lines purchase lines, args.lines_per_purchase a
    purchase, of the suppliers' products"""
    copy = Copier(connection)
    year = args.year
    per = args.lines_per_purchase
    purchases = -(-args.purchase_lines // per)
    other, = copy.one('SELECT p.id FROM product_product AS p '
        'JOIN product_template AS t ON p.template = t.id '
        'WHERE t.name = %s', (bench_union.OTHER_PRODUCT,))
    model_line, = copy.one(
        'SELECT min(id) FROM purchase_line WHERE purchase = %s', (model,))
    # The suppliers numbered, with their address and relief products
    connection.execute(
        'CREATE TEMPORARY TABLE vendor AS SELECT '
        'row_number() OVER (ORDER BY v.id) AS n, v.id AS party, '
        '(SELECT min(id) FROM party_address WHERE party = v.id) AS address, '
        'array_agg(p.id ORDER BY p.id) AS products '
        'FROM relief_product_certification AS c '
        'JOIN party_party AS v ON v.id = c.supplier '
        'JOIN product_product AS p ON p.template = c.template '
        "WHERE c.state = 'certified' GROUP BY v.id")
    connection.execute('CREATE INDEX ON vendor (n)')
    connection.execute('CREATE INDEX ON vendor (party)')
    vendors, = copy.one('SELECT count(*) FROM vendor')
    # state by (i * 37) mod 100: 3 cancelled, 12 confirmed, 15
    # processing, 70 done; one purchase in 20 of the year before
    state = ("CASE WHEN r.s < 3 THEN 'cancelled' WHEN r.s < 15 THEN "
        "'confirmed' WHEN r.s < 30 THEN 'processing' ELSE 'done' END")
    purchase_date = (f"CASE WHEN mod(g.i * 53, 100) < 5 THEN DATE "
        f"'{year - 1}-12-01' + mod(g.i, 31)::int ELSE DATE "
        f"'{year}-01-01' + mod(g.i * 13, 365)::int END")
    count = copy('purchase_purchase', {
            'number': "'BP' || g.i", 'reference': f"'{REFERENCE}'",
            'party': 'v.party', 'invoice_address': 'v.address',
            'state': state,
            'invoice_state': "CASE WHEN r.s >= 30 THEN 'paid' "
            "WHEN r.s >= 15 THEN 'waiting' ELSE 'none' END",
            'shipment_state': "CASE WHEN r.s >= 30 THEN 'received' "
            "WHEN r.s >= 15 THEN 'waiting' ELSE 'none' END",
            'purchase_date': purchase_date,
            'create_date': 'now()', 'write_date': 'NULL'},
        'purchase_purchase AS m, generate_series(1::bigint, %s) AS g(i) '
        'CROSS JOIN LATERAL (SELECT mod(g.i * 37, 100) AS s) AS r '
        f'JOIN vendor AS v ON v.n = mod(g.i * 7919, {vendors}) + 1',
        'm.id = %s', (purchases, model))
    log(f"    {count:,} purchases")
    # Lines: one in ten of the product that is not relief; the quantity
    # 5 to 100, the price 8 to 47.5 CNY
    quantity = '(5 * (1 + mod(h.id + j.j, 20)))'
    count = copy('purchase_line', {
            'purchase': 'h.id', 'sequence': 'j.j',
            'product': f"CASE WHEN mod(h.id * 3 + j.j, 10) = 0 THEN {other} "
            "ELSE v.products[mod(h.id + j.j, cardinality(v.products)) + 1] "
            "END",
            'description': 'NULL',
            'quantity': quantity,
            'unit_price': '8 + mod(h.id * 7 + j.j, 80) * 0.5',
            'create_date': 'now()', 'write_date': 'NULL'},
        'purchase_line AS m, purchase_purchase AS h '
        'JOIN vendor AS v ON v.party = h.party, '
        'generate_series(1, %s) AS j(j)',
        f"m.id = %s AND h.reference = '{REFERENCE}' "
        "AND (substr(h.number, 3)::int - 1) * %s + j.j <= %s",
        (per, model_line, per, args.purchase_lines))
    log(f"    {count:,} purchase lines")
    connection.execute(
        'UPDATE purchase_purchase AS h SET untaxed_amount_cache = t.amount, '
        'tax_amount_cache = 0, total_amount_cache = t.amount '
        'FROM (SELECT l.purchase, SUM(l.unit_price '
        '* CAST(l.quantity AS NUMERIC)) AS amount FROM purchase_line AS l '
        'JOIN purchase_purchase AS p ON p.id = l.purchase '
        f"WHERE p.reference = '{REFERENCE}' GROUP BY l.purchase) AS t "
        'WHERE h.id = t.purchase')


def rebuild_and_plan(cfg, year):
    """bench_union's; the targets from the plans and the province's; the
    suppliers' consumption and relief_report's monthly running totals"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    _rebuild_and_plan(cfg, year)
    with Transaction().start(cfg.database_name, 0) as transaction:
        pool = Pool(cfg.database_name)
        cursor = transaction.connection.cursor()
        # As the wizard Targets from Plans does, and one for the province
        cursor.execute(
            'INSERT INTO relief_report_target ("union", year, amount, plan, '
            'create_date, create_uid) SELECT p.union, p.year, '
            'p.planned_relief, p.id, now(), 0 FROM relief_union_plan AS p '
            "WHERE p.year = %s AND p.state = 'confirmed' "
            'AND p.planned_relief IS NOT NULL', (year,))
        targets = cursor.rowcount
        cursor.execute(
            'INSERT INTO relief_report_target ("union", year, amount, '
            'create_date, create_uid) SELECT NULL, %s, round(SUM('
            'planned_relief) * 1.1, 4), now(), 0 FROM relief_union_plan '
            'WHERE year = %s', (year, year))
        log(f"    {targets:,} targets from the plans and the province's")
        start = time.perf_counter()
        pool.get('relief.purchase.consumption').rebuild()
        pool.get('relief.report.spending').rebuild()
        pool.get('relief.report.origin.sold').rebuild()
        pool.get('relief.report.origin.bought').rebuild()
        log(f"    suppliers' consumption and monthly totals rebuilt by "
            f"Consumption.rebuild, Spending.rebuild, OriginSold.rebuild, "
            f"OriginBought.rebuild in {time.perf_counter() - start:.1f} s")
        transaction.commit()


bench_union.loaded_key = loaded_key
bench_union.sale_products = sale_products
bench_union.generate = generate
bench_union.rebuild_and_plan = rebuild_and_plan


# Progress

def own_sums(month):
    "Each union's own figures of the month and to date: its row to date"
    return ('SELECT s."union" AS id, '
        + ''.join(f's.{c}, ' for c in CHANNELS)
        + 's.cumulative FROM relief_report_spending_to_date AS s '
        'WHERE s.year = %(year)s AND s.month = ' + month)


def baseline_query(year, month):
    """The best hand-written SQL of the report's figures, with its
    parameters: the running totals summed per union, then one running
    sum over the unions ordered by position (the nested set), a
    federation's subtree being the rows between its left and right ends"""
    figures = CHANNELS + ['cumulative', 'members']
    zeros = ', '.join('0' for _ in figures)
    running = ', '.join(f'SUM({f}) OVER w AS r_{f}' for f in figures)
    subtree = ', '.join(f'SUM(CASE WHEN edge THEN r_{f} ELSE {f} - r_{f} '
        f'END) AS {f}' for f in figures)
    values = ', '.join(f'COALESCE(o.{c}, 0) AS {c}'
        for c in CHANNELS + ['cumulative'])
    rounded = 'CASE WHEN {1} > 0 THEN ROUND({0} / {1}, 2) END'.format
    return ('WITH own AS (' + own_sums('%(month)s') + '), '
        # The unions' left ends with their own figures, the federations'
        # right ends (a leaf's subtree is itself)
        'edge AS (SELECT u.id, u.union_left AS pos, false AS edge, '
        'u.union_right = u.union_left + 1 AS leaf, ' + values + ', '
        'COALESCE(u.union_members, 0) AS members FROM party_party AS u '
        'LEFT JOIN own AS o ON o.id = u.id '
        'WHERE u.union_level IS NOT NULL AND u.union_left IS NOT NULL '
        'UNION ALL SELECT u.id, u.union_right, true, false, ' + zeros
        + ' FROM party_party AS u WHERE u.union_level IS NOT NULL '
        'AND u.union_right > u.union_left + 1), '
        'run AS (SELECT id, edge, leaf, ' + ', '.join(figures) + ', '
        + running + ' FROM edge '
        'WINDOW w AS (ORDER BY pos ROWS UNBOUNDED PRECEDING)), '
        'tree AS (SELECT id, ' + ', '.join(figures) + ' FROM run '
        'WHERE leaf UNION ALL SELECT id, ' + subtree + ' FROM run '
        'WHERE NOT leaf GROUP BY id), '
        'f AS (SELECT u.id, u.union_level AS level, u.union_parent, '
        "CASE a.relief_level WHEN 'county' THEN a.parent "
        "WHEN 'city' THEN a.id END AS city, "
        "CASE WHEN a.relief_level = 'county' THEN a.id END AS county, "
        + ', '.join(f'COALESCE(t.{c}, 0) AS {c}' for c in CHANNELS) + ', '
        'COALESCE(t.cumulative, 0) AS cumulative, '
        'COALESCE(g.amount, CASE WHEN u.union_level = \'province\' '
        'THEN p.amount END) * 10000 AS target, '
        'COALESCE(t.members, 0) AS members, '
        'COALESCE(u.union_members, 0) AS own_members '
        'FROM party_party AS u LEFT JOIN tree AS t ON t.id = u.id '
        'LEFT JOIN relief_report_target AS g ON g."union" = u.id '
        'AND g.year = %(year)s '
        'LEFT JOIN relief_report_target AS p ON p."union" IS NULL '
        'AND p.year = %(year)s '
        'LEFT JOIN country_subdivision AS a ON a.id = u.union_area '
        'WHERE u.union_level IS NOT NULL), '
        # The province's members and total to date
        'k AS (SELECT SUM(own_members) AS members, COALESCE(MAX('
        "cumulative) FILTER (WHERE level = 'province'), 0) AS province "
        'FROM f) '
        'SELECT f.id * 100 + %(month)s, f.id, f.level, f.union_parent, '
        'f.city, f.county, %(year)s, %(month)s, '
        + ', '.join(f'f.{c}' for c in CHANNELS[:3]) + ', '
        'f.b2b + f.mall + f.counter, f.offplatform, '
        'f.b2b + f.mall + f.counter + f.offplatform, f.cumulative, '
        'f.target, ' + rounded('f.cumulative * 100', 'f.target') + ', '
        'f.members, ' + rounded('CAST(f.members AS NUMERIC) * 100',
            'k.members') + ', '
        + rounded('f.cumulative * 100', 'k.province') + ', '
        + rounded('k.province * f.members', 'k.members') + ', '
        + rounded('f.cumulative', 'f.members') + ', '
        'RANK() OVER (PARTITION BY f.level ORDER BY COALESCE('
        + rounded('f.cumulative', 'f.members') + ', 0) DESC) '
        'FROM f CROSS JOIN k'), {'year': year, 'month': month}


def subtree_join_query(year, month):
    """The former baseline, a cross-check of the running sums: each union
    joined to its subtree, grouped"""
    channels = ', '.join(
        f"SUM(CASE WHEN s.channel = '{c}' AND s.month = %(month)s "
        f"THEN s.amount ELSE 0 END) AS {c}" for c in CHANNELS)
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


def differences(mine, theirs, columns, key, label):
    """Where two row sets (rows by their key, named key) differ: the
    first few"""
    problems = []
    if set(mine) != set(theirs):
        problems.append(f"{len(set(mine) ^ set(theirs))} rows only in one "
            f"of the report and the {label}")
    for row in sorted(set(mine) & set(theirs)):
        for column, a, b in zip(columns, mine[row], theirs[row]):
            if a != b:
                problems.append(f"{key} {row} {column}: {a} "
                    f"against {b} ({label})")
                break
        if len(problems) >= 3:
            break
    return problems


class Reports:
    "The ways of reading each report, each in a fresh transaction"

    def __init__(self, cfg, year, month):
        from trytond.pool import Pool
        self.cfg, self.year, self.month = cfg, year, month
        pool = Pool(cfg.database_name)
        self.Progress = pool.get('relief.report.progress')
        self.Origin = pool.get('relief.report.origin')

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

    def _table_query(self, Model):
        with self.transaction():
            query = Model.table_query()
        return self._fetch(query)

    def progress_baseline(self):
        return self._fetch(baseline_query(self.year, self.month))

    def progress_sql(self):
        return self._table_query(self.Progress)

    def progress_orm(self, limit=None):
        Progress = self.Progress
        with self.transaction():
            rows = Progress.search_read([], limit=limit,
                fields_names=list(LIST_FIELDS))
            if limit:
                # The client counts the rows when the page is full
                Progress.search_count([], 0, limit * 100)
            return rows

    def progress_page(self):
        return self.progress_orm(PAGE)

    def origin_baseline(self):
        return self._fetch(origin_query(self.year))

    def origin_lines(self):
        return self._fetch(origin_lines_query(self.year))

    def origin_sql(self):
        return self._table_query(self.Origin)

    def explain(self, which):
        "EXPLAIN ANALYZE of a baseline or of a table_query"
        with self.transaction() as transaction:
            cursor = transaction.connection.cursor()
            query, params = {
                'progress baseline': lambda: baseline_query(
                    self.year, self.month),
                'progress table_query': self.Progress.table_query,
                'origin baseline': lambda: origin_query(self.year),
                'origin table_query': self.Origin.table_query,
                }[which]()
            cursor.execute('EXPLAIN (ANALYZE, BUFFERS) ' + query, params)
            return [r for r, in cursor]

    def check_progress(self):
        """The report's rows are the baseline's, column by column; its
        figures are the subtree join's; the province's adds up the sales;
        return the rows, the total and the problems"""
        mine = {r[1]: r for r in self.progress_sql()}
        base = {r[1]: r for r in self.progress_baseline()}
        problems = differences(mine, base, PROGRESS, 'union', 'baseline')
        start = time.perf_counter()
        joined = {r[0]: r for r in self._fetch(
                subtree_join_query(self.year, self.month))}
        self.subtree_join_ms = (time.perf_counter() - start) * 1000
        figures = CHANNELS + ['cumulative', 'members']
        indexes = [PROGRESS.index(f) for f in figures]
        problems += differences(
            {u: (u, *(r[i] for i in indexes)) for u, r in mine.items()},
            {u: (u, *(v if v is not None else 0 for v in r[1:]))
                for u, r in joined.items()},
            ['union'] + figures, 'union', 'subtree join')
        sold, = self._fetch(sales_total(self.year, self.month))[0]
        province = [r[PROGRESS.index('cumulative')] for r in mine.values()
            if r[PROGRESS.index('level')] == 'province']
        if province != [sold]:
            problems.append(f"province {province} against sales {sold}")
        return len(mine), sold, problems

    def check_origin(self):
        """The report's rows are the baseline's, column by column, and
        those of the sale and purchase lines themselves"""
        mine = {r[0]: r for r in self.origin_sql()}
        base = {r[0]: r for r in self.origin_baseline()}
        problems = differences(mine, base, ORIGIN, 'supplier', 'baseline')
        start = time.perf_counter()
        lines = {r[0]: r for r in self.origin_lines()}
        self.origin_lines_ms = (time.perf_counter() - start) * 1000
        problems += differences(mine, lines, ORIGIN, 'supplier', 'lines')
        totals = {c: sum(r[ORIGIN.index(c)] for r in mine.values())
            for c in ['purchases', 'sales', 'poor_people']}
        counties = len({r[ORIGIN.index('county')] for r in mine.values()})
        return len(mine), counties, totals, problems


# Origin

def origin_query(year):
    """The best hand-written SQL of the origin report's figures, with its
    parameters, on the same running totals (by product and month sold, by
    supplier, product and month bought): summed per product for the year,
    then per supplier"""
    return (
        'WITH certificate AS (SELECT supplier, MAX(county) AS county, '
        'MAX(poor_people) AS poor_people '
        'FROM relief_supplier_certification '
        "WHERE state IN ('certified', 'suspended', 'expired') "
        'AND valid_from <= %(last)s AND valid_to >= %(first)s '
        'GROUP BY supplier), '
        # One supplier per product: the first that certified it
        'maker AS (SELECT p.id AS product, MIN(c.supplier) AS supplier '
        'FROM relief_product_certification AS c '
        'JOIN product_product AS p ON p.template = c.template '
        "WHERE c.state = 'certified' GROUP BY p.id), "
        # A product sold is one with counted lines
        'sold AS (SELECT product, SUM(sales) AS sales, SUM(items) AS items '
        'FROM relief_report_origin_sold WHERE year = %(year)s '
        'GROUP BY product HAVING SUM(lines) > 0), '
        'sales AS (SELECT m.supplier, SUM(d.sales) AS sales, '
        'SUM(d.items) AS items, COUNT(*) AS products '
        'FROM sold AS d JOIN maker AS m ON m.product = d.product '
        'GROUP BY m.supplier), '
        'purchases AS (SELECT b.supplier, SUM(b.amount) AS purchases '
        'FROM relief_report_origin_bought AS b '
        'JOIN product_product AS p ON p.id = b.product '
        'JOIN product_template AS t ON t.id = p.template '
        'WHERE t.relief AND b.year = %(year)s GROUP BY b.supplier) '
        'SELECT c.supplier, %(year)s, c.supplier, c.county, a.parent, '
        'COALESCE(b.purchases, 0), COALESCE(s.sales, 0), '
        'COALESCE(s.items, 0), COALESCE(s.products, 0), 1, c.poor_people '
        'FROM certificate AS c '
        'LEFT JOIN sales AS s ON s.supplier = c.supplier '
        'LEFT JOIN purchases AS b ON b.supplier = c.supplier '
        'LEFT JOIN country_subdivision AS a ON a.id = c.county'), {
        'year': year, 'first': dt.date(year, 1, 1),
        'last': dt.date(year, 12, 31)}


def origin_lines_query(year):
    """The origin report's figures from the sale and purchase lines
    themselves, a cross-check of the running totals (the former baseline):
    the lines summed per product first (a few thousand groups), then per
    supplier"""
    ratio = ('CASE WHEN l.quantity != 0 THEN CAST(COALESCE('
        'l.actual_quantity, l.quantity) / l.quantity AS NUMERIC) ELSE 0 END')
    return (
        'WITH certificate AS (SELECT supplier, MAX(county) AS county, '
        'MAX(poor_people) AS poor_people '
        'FROM relief_supplier_certification '
        "WHERE state IN ('certified', 'suspended', 'expired') "
        'AND valid_from <= %(last)s AND valid_to >= %(first)s '
        'GROUP BY supplier), '
        # One supplier per product: the first that certified it
        'maker AS (SELECT p.id AS product, MIN(c.supplier) AS supplier '
        'FROM relief_product_certification AS c '
        'JOIN product_product AS p ON p.template = c.template '
        "WHERE c.state = 'certified' GROUP BY p.id), "
        'sold AS (SELECT l.product, SUM(l.relief_amount * ' + ratio + ') '
        'AS sales, SUM(COALESCE(l.actual_quantity, l.quantity)) AS items '
        'FROM sale_line AS l JOIN sale_sale AS s ON s.id = l.sale '
        "WHERE s.state IN ('confirmed', 'processing', 'done') "
        'AND s.sale_date BETWEEN %(first)s AND %(last)s '
        'AND l.relief_amount IS NOT NULL GROUP BY l.product), '
        'sales AS (SELECT m.supplier, SUM(d.sales) AS sales, '
        'SUM(d.items) AS items, COUNT(*) AS products '
        'FROM sold AS d JOIN maker AS m ON m.product = d.product '
        'GROUP BY m.supplier), '
        'bought AS (SELECT h.party AS supplier, l.product, SUM(l.unit_price '
        '* CAST(l.quantity AS NUMERIC)) AS amount '
        'FROM purchase_line AS l '
        'JOIN purchase_purchase AS h ON h.id = l.purchase '
        "WHERE h.state IN ('confirmed', 'processing', 'done') "
        'AND h.purchase_date BETWEEN %(first)s AND %(last)s '
        'GROUP BY h.party, l.product), '
        'purchases AS (SELECT b.supplier, SUM(b.amount) AS purchases '
        'FROM bought AS b JOIN product_product AS p ON p.id = b.product '
        'JOIN product_template AS t ON t.id = p.template WHERE t.relief '
        'GROUP BY b.supplier) '
        'SELECT c.supplier, %(year)s, c.supplier, c.county, a.parent, '
        'COALESCE(b.purchases, 0), COALESCE(s.sales, 0), '
        'COALESCE(s.items, 0), COALESCE(s.products, 0), 1, c.poor_people '
        'FROM certificate AS c '
        'LEFT JOIN sales AS s ON s.supplier = c.supplier '
        'LEFT JOIN purchases AS b ON b.supplier = c.supplier '
        'LEFT JOIN country_subdivision AS a ON a.id = c.county'), {
        'year': year, 'first': dt.date(year, 1, 1),
        'last': dt.date(year, 12, 31)}


# Timing

def time_reports(reports, args):
    """Interleave the variants in a random order each round; the ORM's
    read of every row only in the first --orm-repeat timed rounds"""
    variants = {
        'progress baseline': reports.progress_baseline,
        'progress sql': reports.progress_sql,
        'progress page': reports.progress_page,
        'progress orm': reports.progress_orm,
        'origin baseline': reports.origin_baseline,
        'origin sql': reports.origin_sql,
        }
    times = {v: [] for v in variants}
    order = list(variants)
    rng = random.Random(args.seed)
    for round_ in range(args.warmup + args.repeat):
        timed = round_ >= args.warmup
        rng.shuffle(order)
        for variant in order:
            if variant == 'progress orm' and (not timed
                    or len(times[variant]) >= args.orm_repeat):
                continue
            start = time.perf_counter()
            variants[variant]()
            if timed:
                times[variant].append((time.perf_counter() - start) * 1000)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in [('unions', 60_000), ('industry', 5),
            ('members', 50_000), ('lines', 2_000_000),
            ('lines-per-sale', 5)]:
        parser.add_argument(f'--{name}', type=int, default=default,
            help="as bench_union (default: %(default)s)")
    parser.add_argument('--suppliers', type=int, default=575,
        help="certified suppliers of relief products (default: "
        "%(default)s)")
    parser.add_argument('--products-per-supplier', type=int, default=3,
        help="relief products of each supplier but the set-up's (which "
        "has bench_union's 5) (default: %(default)s)")
    parser.add_argument('--purchase-lines', type=int, default=1_000_000,
        help="purchase lines (default: %(default)s)")
    parser.add_argument('--lines-per-purchase', type=int, default=5,
        help="(default: %(default)s)")
    parser.add_argument('--year', type=int,
        default=dt.date.today().year - 1,
        help="the year of the sales, the purchases and the reports "
        "(default: last year, %(default)s)")
    parser.add_argument('--month', type=int, default=9,
        help="the month of the progress report (default: %(default)s)")
    parser.add_argument('--repeat', type=int, default=10,
        help="timed rounds (default: %(default)s)")
    parser.add_argument('--warmup', type=int, default=2,
        help="untimed rounds first (default: %(default)s)")
    parser.add_argument('--orm-repeat', type=int, default=1,
        help="timed rounds with the ORM's read of every row of the "
        "progress, which takes minutes on the full data (default: "
        "%(default)s; 0: skip it)")
    parser.add_argument('--explain', action='store_true',
        help="print EXPLAIN ANALYZE of the baselines and the table_queries")
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
    unions, lines, purchase_lines = execute(
        "SELECT (SELECT count(*) FROM party_party WHERE union_level IS NOT "
        "NULL), (SELECT count(*) FROM sale_line), "
        "(SELECT count(*) FROM purchase_line)", loaded_db)[0]
    reports = Reports(cfg, args.year, args.month)
    rows, sold, problems = reports.check_progress()
    log(f"progress of {rows:,} unions to {args.year}-{args.month:02}, "
        f"{sold or 0:,.2f} CNY: " + ('the same figures as the baseline and '
            f'the subtree join (which took {reports.subtree_join_ms:,.0f} '
            'ms)' if not problems else 'DIFFERS: ' + '; '.join(problems)))
    refuse_unless(not problems, '; '.join(problems))
    refuse_unless(rows and sold, "no spending to report")
    suppliers, counties, totals, problems = reports.check_origin()
    log(f"origin of {suppliers:,} suppliers in {counties:,} counties in "
        f"{args.year}: {totals['purchases']:,.2f} CNY bought, "
        f"{totals['sales']:,.2f} CNY sold, {totals['poor_people']:,} poor "
        "people: " + ('the same figures as the baseline and the lines '
            f'(which took {reports.origin_lines_ms:,.0f} ms)' if not problems
            else 'DIFFERS: ' + '; '.join(problems)))
    refuse_unless(not problems, '; '.join(problems))
    refuse_unless(suppliers and totals['purchases'] and totals['sales'],
        "no purchases or sales by origin to report")
    log(f"timing: {args.warmup} untimed then {args.repeat} timed rounds, "
        f"interleaved (the ORM's read of every row in "
        f"{min(args.orm_repeat, args.repeat)} of them)")
    times = time_reports(reports, args)

    print()
    print(f"Loaded: {unions:,} unions, {lines:,} sale lines, {suppliers:,} "
        f"suppliers, {purchase_lines:,} purchase lines; progress of "
        f"{args.year}-{args.month:02}, origin of {args.year}")
    header = (f"{'variant':<34} {'median ms':>10} {'p90 ms':>9} "
        f"{'ratio':>6}  target")
    print(header)
    print('-' * (len(header) + 34))

    def row(label, values, base=None, target=False):
        median = statistics.median(values)
        ratio = verdict = ''
        if base is not None:
            value = Decimal(str(median / statistics.median(base)))
            ratio = f'{value:.2f}'
            if target:
                met = value <= TARGET and median < 1000
                verdict = (f"≤ 1.2 × baseline, < 1 s: "
                    f"{'met' if met else 'NOT met'}")
            else:
                verdict = "(for information)"
        print(f"{label:<34} {median:>10.1f} {p90(values):>9.1f} "
            f"{ratio:>6}  {verdict}")
    base = times['progress baseline']
    row('progress baseline hand-written SQL', base)
    row('progress table_query SQL', times['progress sql'], base, True)
    row(f'progress ORM first page ({PAGE} rows)', times['progress page'],
        base)
    if times['progress orm']:
        row('progress ORM search_read, all rows', times['progress orm'],
            base)
    print(f"{'progress subtree join (check)':<34} "
        f"{reports.subtree_join_ms:>10.1f} {'':>9} "
        f"{reports.subtree_join_ms / statistics.median(base):>6.2f}  "
        "(once, for information)")
    base = times['origin baseline']
    row('origin baseline hand-written SQL', base)
    row('origin table_query SQL', times['origin sql'], base, True)
    print(f"{'origin from the lines (check)':<34} "
        f"{reports.origin_lines_ms:>10.1f} {'':>9} "
        f"{reports.origin_lines_ms / statistics.median(base):>6.2f}  "
        "(once, for information)")
    print()
    print("The targets are compared with the table_query's SQL: like the "
        "baseline it is one statement whose rows are all fetched.  The "
        "ORM's search_read (Python assertions "
        f"{'on' if __debug__ else 'off'}) runs that statement with the "
        "list's order, then builds a record per row and reads the union's, "
        "the city's and the county's names; the first page adds the "
        "client's count.")
    if args.explain:
        for which in ['progress baseline', 'progress table_query',
                'origin baseline', 'origin table_query']:
            print()
            print(f"EXPLAIN ANALYZE, {which}:")
            for line in reports.explain(which):
                print('  ' + line)
    print(f"Total time: {time.monotonic() - started:.0f} s")


if __name__ == '__main__':
    random.seed(0)
    main()
