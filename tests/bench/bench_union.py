# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Time the union compliance roll-up and confirming a sale on PostgreSQL.

Run by scripts/bench (a throwaway cluster in TRYTOND_DATABASE_URI) after
bench_certification.py.  Two databases from the same set-up (company, 5
certified and listed relief products, the provincial federation, the
federation of Xi'an, of Zhouzhi county and a grassroots union of it):

  empty    nothing more
  loaded   --unions unions in all (province, 10 cities, 107 counties,
           a few industry unions, grassroots unions below them), their
           members, and --lines sale lines (--lines-per-sale a sale) of
           the year --year: most confirmed or done, a few cancelled or
           quoted, some of the year before; a fifth of the sales are
           members' (B2C); plans for the year; generated set-based in
           SQL, the nested set rebuilt by Party._rebuild_tree and the
           unions' spending totals by Spending.rebuild (as activating the
           module does for sales confirmed before)

1. The roll-up of relief.union.compliance for the year on "loaded", against
   a hand-written GROUP BY of the same sale lines (the baseline: the union's
   own spending only, same WHERE, same amount expression, all rows fetched):
     (b) the SQL of Compliance.table_query() alone, all rows fetched:
         the figure compared with the target (1.5 ×)
     (b') Compliance._tree_query() alone (the window roll-up without the
         plans, rules and areas), to tell where the time goes
     (a) Compliance.search_read([], figures) in the ORM (--orm-repeat
         rounds only: reading 60,000 records takes long)
     (c) opening the list view as the web client does: search on the first
         tab's domain, default order, limit 80; search_count with the
         client's limit; read of the 80 rows with the view's fields;
         search_count of the two counted tabs
2. Quoting and confirming a fresh 5-line sale of the relief products to the
   grassroots union (the dispatcher's path, as bench_certification does;
   processing queued as with trytond-worker) on "loaded" against "empty".

Variants are interleaved in a random order each round.  Prints medians,
90th percentiles and ratios beside the targets; asserts no timing, but
prints no ratio and exits non-zero when the work timed is not the work
named (a roll-up of no spending or that does not add up as the baseline, a
sale not confirmed for its union).  The
activated, set-up and loaded databases are kept as dumps in --cache, keyed
by a hash of the modules' files (and the sizes for the loaded one), and
the databases are dropped at the end."""
import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import time
from decimal import Decimal

# Shared with the certification benchmark (which also sets, before trytond
# reads its configuration, TRYTOND_QUEUE__WORKER: processing is queued).
import bench_certification
from bench_certification import (
    ROOT, copies, drop, execute, guarded, log, p90, parse_args,
    refuse_unless, set_up_company, signature, states, timed_clicks, uri)

MODULE = 'relief_union'
ROLLUP_TARGET = Decimal('1.5')
CONFIRM_TARGET = Decimal('1.1')
PRODUCTS = ["猕猴桃", "核桃", "土蜂蜜", "香菇", "小米"]
OTHER_PRODUCT = "矿泉水"
BUYER = "周至县第一中学工会委员会"
REFERENCE = 'bench-union'
# The figures of the roll-up, as a report reads them
FIGURES = ['union', 'level', 'year', 'plan', 'workers', 'gift_total',
    'planned_relief', 'quota', 'spending_own', 'spending', 'relief_share',
    'share_min', 'gift_per_member', 'gift_cap', 'plan_attainment',
    'quota_attainment', 'status']
# The fields the list view (view/compliance_list.xml) reads, as sao asks
LIST_FIELDS = ['union', 'union.rec_name', 'level', 'level:string', 'city',
    'city.rec_name', 'county', 'county.rec_name', 'gift_total', 'spending',
    'spending_own', 'relief_share', 'share_min', 'gift_per_member',
    'gift_cap', 'plan_attainment', 'quota_attainment', 'status',
    'status:string', '_timestamp', '_write', '_delete']
LIST_LIMIT = 80


def restore(name, dump, jobs=1):
    execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
    log(f"restoring {name.rsplit('_', 1)[-1]} from "
        f"{dump.relative_to(ROOT) if dump.is_relative_to(ROOT) else dump}")
    subprocess.run(['pg_restore', '--no-owner', '-j', str(jobs),
            '-d', uri(name), str(dump)], check=True)


def save(name, dump):
    dump.parent.mkdir(parents=True, exist_ok=True)
    partial = dump.with_suffix('.part')
    subprocess.run(['pg_dump', '-Fc', '-Z', '1', '-f', str(partial),
            uri(name)], check=True)
    partial.rename(dump)


def activate(name):
    "Create name with the module and its dependencies activated"
    execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
    bench_certification.activate(name, MODULE)


def set_up(cfg):
    """Company, 5 certified and listed relief products (and one that is
    not relief), the unions down to the buyer, a draft sale to copy"""
    from proteus import Model
    Party = Model.get('party.party')
    Subdivision = Model.get('country.subdivision')
    set_up_company(cfg)

    def area(code):
        subdivision, = Subdivision.find([('gbt2260_code', '=', code)])
        return subdivision
    shaanxi, xian, zhouzhi = area('610000'), area('610100'), area('610124')

    unions = {}
    for name, level, parent, place, members in [
            ("陕西省总工会", 'province', None, shaanxi, None),
            ("西安市总工会", 'city', "陕西省总工会", xian, None),
            ("周至县总工会", 'county', "西安市总工会", zhouzhi, None),
            (BUYER, 'grassroots', "周至县总工会", zhouzhi, 150),
            ]:
        union = Party(name=name, union_level=level, union_area=place,
            union_members=members,
            union_parent=unions[parent] if parent else None)
        union.addresses[0].city = place.name
        union.save()
        unions[name] = union

    Rule = Model.get('relief.rule')
    today = dt.date.today()
    county, = Subdivision.find(
        [('relief_level', '=', 'county')], limit=1, order=[('id', 'ASC')])
    # The certification's cap (relief_certification) needs a rule
    Rule(jurisdiction=county, kind='purchase_cap_per_person',
        value=Decimal(100), valid_from=dt.date(today.year - 1, 1, 1),
        source="Bench").save()

    Uom = Model.get('product.uom')
    Template = Model.get('product.template')
    Entry = Model.get('relief.catalogue.entry')
    unit, = Uom.find([('name', '=', "Unit")])
    products = []
    for name in PRODUCTS + [OTHER_PRODUCT]:
        template = Template(name=name, type='goods',
            relief=name != OTHER_PRODUCT, salable=True, purchasable=True,
            default_uom=unit, sale_uom=unit, list_price=Decimal(20))
        template.save()
        products.append(template.products[0])
    relief_products = products[:len(PRODUCTS)]

    Certification = Model.get('relief.supplier.certification')
    ProductCertification = Model.get('relief.product.certification')
    supplier = Party(name="周至县合作社")
    supplier.save()
    certification = Certification(supplier=supplier, county=county,
        office="周至县扶贫开发办公室", number="BENCH-UNION",
        poor_people=1_000_000,
        valid_from=today - dt.timedelta(days=400),
        valid_to=today + dt.timedelta(days=400))
    certification.click('certify')
    for product in relief_products:
        ProductCertification(template=product.template,
            supplier=supplier, supplier_certification=certification,
            catalogue_number=f"CAT-U-{product.id}",
            valid_from=certification.valid_from,
            valid_to=certification.valid_to).click('certify')
        Entry(template=product.template).click('list_')

    Sale = Model.get('sale.sale')
    sale = Sale(party=unions[BUYER], reference=REFERENCE + '-model')
    for product in relief_products:
        line = sale.lines.new(product=product)
        line.quantity = 10
        line.unit_price = Decimal(20)
    sale.save()


def sale_products(connection):
    """The products of the generated sale lines: the relief ones (ids) and
    the one that is not relief (a benchmark on the same data may
    replace this function to spread the lines over more products)"""
    products = [i for i, in connection.execute(
            'SELECT p.id FROM product_product p '
            'JOIN product_template t ON p.template = t.id '
            'WHERE t.name = ANY(%s) ORDER BY t.relief DESC, p.id',
            (PRODUCTS + [OTHER_PRODUCT],))]
    return products[:-1], products[-1]


def loaded_key(args):
    """The sizes in the name of the loaded database's dump (a benchmark
    that generates more may replace this function to add its sizes)"""
    return (f'y{args.year}-u{args.unions}-l{args.lines}x'
        f'{args.lines_per_sale}-m{args.members}-i{args.industry}')


def generate(name, args):
    """Fill name with the unions, members, sales and plans, set-based.

    Every row is a copy of a set-up row (the buyer, its address, the model
    sale and its first line) with the columns that differ overridden, so
    that the NOT NULL columns and the defaults are those Tryton wrote."""
    import psycopg
    year = args.year
    sales = -(-args.lines // args.lines_per_sale)
    with psycopg.connect(uri(name)) as connection:
        def one(query, params=None):
            return connection.execute(query, params).fetchone()

        def columns(table):
            return [c for c, in connection.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = %s AND column_name != 'id' "
                    "ORDER BY ordinal_position", (table,))]

        def copy(table, overrides, source, where, params=None):
            names = columns(table)
            unknown = set(overrides) - set(names)
            assert not unknown, (table, unknown)
            cursor = connection.execute(
                f'INSERT INTO {table} ('
                + ', '.join(f'"{c}"' for c in names) + ') SELECT '
                + ', '.join(overrides.get(c, f'm."{c}"') for c in names)
                + f' FROM {source} WHERE {where}', params)
            return cursor.rowcount

        buyer, = one('SELECT id FROM party_party WHERE name = %s', (BUYER,))
        province, = one("SELECT id FROM party_party "
            "WHERE union_level = 'province'")
        address, = one('SELECT min(id) FROM party_address WHERE party = %s',
            (buyer,))
        model, = one('SELECT id FROM sale_sale WHERE reference = %s',
            (REFERENCE + '-model',))
        model_line, = one('SELECT min(id) FROM sale_line WHERE sale = %s',
            (model,))
        relief, other = sale_products(connection)

        def party(overrides, source, where, params=None):
            return copy('party_party', {
                    'create_date': 'now()', 'write_date': 'NULL',
                    'union_left': 'NULL', 'union_right': 'NULL',
                    'member_union': 'NULL', 'member_number': 'NULL',
                    'union_members': 'NULL', **overrides},
                f'party_party AS m, {source}',
                f'm.id = {buyer} AND ({where})', params)
        # A union per city and per county subdivision that has none yet
        count = party({
                'name': "s.name || '总工会'", 'code': "'BU-' || s.id",
                'union_level': "'city'", 'union_parent': str(province),
                'union_area': 's.id'},
            'country_subdivision AS s',
            "s.relief_level = 'city' AND NOT EXISTS (SELECT 1 FROM "
            "party_party u WHERE u.union_area = s.id "
            "AND u.union_level = 'city')")
        count += party({
                'name': "s.name || '总工会'", 'code': "'BU-' || s.id",
                'union_level': "'county'",
                'union_parent': f"COALESCE((SELECT min(c.id) FROM "
                f"party_party c WHERE c.union_area = s.parent AND "
                f"c.union_level = 'city'), {province})",
                'union_area': 's.id'},
            'country_subdivision AS s',
            "s.relief_level = 'county' AND NOT EXISTS (SELECT 1 FROM "
            "party_party u WHERE u.union_area = s.id "
            "AND u.union_level = 'county')")
        industry = args.industry
        count += party({
                'name': "'陕西省产业工会 ' || g.i", 'code': "'BI-' || g.i",
                'union_level': "'industry'", 'union_parent': str(province),
                'union_area': 'm.union_area', 'union_members': '5000'},
            'generate_series(1, %s) AS g(i)', 'true', (industry,))
        existing, = one('SELECT count(*) FROM party_party '
            'WHERE union_level IS NOT NULL')
        grassroots = max(args.unions - existing, 0)
        # Grassroots unions spread over the counties, one in 50 under an
        # industry union (in a county too: the area of its seat)
        count += party({
                'name': "'基层工会 ' || g.i", 'code': "'BG-' || g.i",
                'union_level': "'grassroots'",
                'union_parent': 'CASE WHEN mod(g.i, 50) = 0 AND '
                'cardinality(i.ids) > 0 THEN '
                'i.ids[mod(g.i / 50, cardinality(i.ids)) + 1] '
                'ELSE k.ids[mod(g.i, cardinality(k.ids)) + 1] END',
                'union_area': 'k.areas[mod(g.i, cardinality(k.ids)) + 1]',
                'union_members': '20 + mod(g.i * 7, 980)'},
            "(SELECT array_agg(id ORDER BY id) AS ids, "
            "array_agg(union_area ORDER BY id) AS areas FROM party_party "
            "WHERE union_level = 'county') AS k, "
            "(SELECT COALESCE(array_agg(id ORDER BY id), '{}') AS ids "
            "FROM party_party WHERE union_level = 'industry') AS i, "
            'generate_series(1, %s) AS g(i)', 'true', (grassroots,))
        log(f"    {count:,} unions")
        # Members (B2C buyers) of the grassroots unions
        members = party({
                'name': "'会员 ' || g.i", 'code': "'BM-' || g.i",
                'union_level': 'NULL', 'union_parent': 'NULL',
                'union_area': 'NULL',
                'member_union': 'k.ids[mod(g.i * 13, cardinality(k.ids)) '
                '+ 1]',
                'member_number': "'M' || lpad(g.i::text, 8, '0')"},
            "(SELECT array_agg(id ORDER BY id) AS ids FROM party_party "
            "WHERE union_level = 'grassroots') AS k, "
            'generate_series(1, %s) AS g(i)', 'true', (args.members,))
        log(f"    {members:,} members")
        copy('party_address', {
                'party': 'p.id', 'create_date': 'now()',
                'city': "'西安'"},
            'party_address AS m, party_party AS p',
            "m.id = %s AND p.code ~ '^B[UIGM]-'", (address,))
        # Buyers numbered for the sales to pick: grassroots unions (a tenth
        # of them buy nothing), upper unions, members
        connection.execute(
            "CREATE TEMPORARY TABLE buyer AS SELECT "
            "row_number() OVER (PARTITION BY kind ORDER BY p.id) AS n, "
            "kind, p.id AS party, a.id AS address, "
            "COALESCE(p.member_union, p.id) AS union_ "
            "FROM (SELECT *, CASE WHEN union_level = 'grassroots' THEN 'g' "
            "WHEN union_level IS NOT NULL THEN 'u' ELSE 'm' END AS kind "
            "FROM party_party WHERE union_level IS NOT NULL "
            "OR member_union IS NOT NULL) AS p "
            "JOIN LATERAL (SELECT min(id) AS id FROM party_address "
            "WHERE party = p.id) AS a ON true")
        connection.execute("CREATE INDEX ON buyer (kind, n)")
        sizes = dict(connection.execute(
                'SELECT kind, count(*) FROM buyer GROUP BY kind'))
        spenders = max(sizes.get('g', 0) * 9 // 10, 1)
        # state by (i * 37) mod 100: 3 cancelled, 2 quoted, 10 processing,
        # 25 confirmed, 60 done; one sale in 20 of the year before
        state = ("CASE WHEN r.s < 3 THEN 'cancelled' WHEN r.s < 5 THEN "
            "'quotation' WHEN r.s < 15 THEN 'processing' WHEN r.s < 40 "
            "THEN 'confirmed' ELSE 'done' END")
        sale_date = (f"CASE WHEN mod(g.i * 53, 100) < 5 THEN DATE "
            f"'{year - 1}-12-01' + mod(g.i, 31)::int ELSE DATE "
            f"'{year}-01-01' + mod(g.i * 13, 365)::int END")
        total = ('(SELECT sum((1 + mod(g.i + j, 10)) * 20) '
            f'FROM generate_series(1, {args.lines_per_sale}) AS j)')
        count = copy('sale_sale', {
                'number': "'BS' || g.i", 'reference': f"'{REFERENCE}'",
                'party': 'b.party', 'invoice_address': 'b.address',
                'shipment_address': 'b.address', 'relief_union': 'b.union_',
                'state': state,
                'invoice_state': "CASE WHEN r.s >= 40 THEN 'paid' "
                "WHEN r.s >= 5 THEN 'waiting' ELSE 'none' END",
                'shipment_state': "CASE WHEN r.s >= 40 THEN 'sent' "
                "WHEN r.s >= 5 THEN 'waiting' ELSE 'none' END",
                'sale_date': sale_date, 'quotation_date': sale_date,
                'untaxed_amount_cache': total, 'tax_amount_cache': '0',
                'total_amount_cache': total,
                'create_date': 'now()'},
            'sale_sale AS m, generate_series(1::bigint, %s) AS g(i) '
            'CROSS JOIN LATERAL (SELECT mod(g.i * 37, 100) AS s, CASE '
            "WHEN mod(g.i, 5) = 0 THEN 'm' WHEN mod(g.i, 100) = 1 THEN 'u' "
            "ELSE 'g' END AS kind) AS r "
            'JOIN buyer AS b ON b.kind = r.kind AND b.n = CASE r.kind '
            f"WHEN 'g' THEN mod(g.i * 7919, {spenders}) + 1 "
            f"WHEN 'u' THEN mod(g.i, {sizes.get('u', 1)}) + 1 "
            f"ELSE mod(g.i * 31, {max(sizes.get('m', 0), 1)}) + 1 END",
            'm.id = %s', (sales, model))
        log(f"    {count:,} sales")
        # Lines: one in ten of a product that is not relief (no relief
        # amount); goods of one in 20 lines of done sales partly cancelled;
        # the actual quantity unknown until shipped
        relief_array = '{' + ','.join(map(str, relief)) + '}'
        quantity = '(1 + mod(s.id + j.j, 10))'
        is_other = 'mod(s.id * 3 + j.j, 10) = 0'
        count = copy('sale_line', {
                'sale': 's.id', 'sequence': 'j.j',
                'product': f"CASE WHEN {is_other} THEN {other} ELSE "
                f"('{relief_array}'::int[])[mod(s.id + j.j, "
                f"{len(relief)}) + 1] END",
                'description': 'NULL',
                'quantity': quantity, 'unit_price': '20',
                'relief_amount': f"CASE WHEN {is_other} THEN NULL ELSE "
                f"{quantity} * 20 END",
                'actual_quantity': "CASE WHEN s.state = 'done' THEN "
                f"CASE WHEN mod(s.id + j.j * 7, 20) = 0 THEN {quantity} - 1 "
                f"ELSE {quantity} END WHEN s.state = 'processing' AND "
                f"mod(s.id, 2) = 0 THEN {quantity} ELSE NULL END",
                'quantity_to_invoice': 'NULL', 'quantity_to_ship': 'NULL',
                'create_date': 'now()'},
            'sale_line AS m, sale_sale AS s, '
            'generate_series(1, %s) AS j(j)',
            f"m.id = %s AND s.reference = '{REFERENCE}' "
            "AND (substr(s.number, 3)::int - 1) * %s + j.j <= %s",
            (args.lines_per_sale, model_line, args.lines_per_sale,
                args.lines))
        log(f"    {count:,} sale lines")
        connection.commit()


def rebuild_and_plan(cfg, year):
    """Rebuild the nested set and the spending totals through trytond, and
    add the plans of year: one union in 20 without a plan, one in 100 with
    its figures missing"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(cfg.database_name, 0) as transaction:
        pool = Pool(cfg.database_name)
        start = time.perf_counter()
        pool.get('party.party')._rebuild_tree('union_parent', None, 0)
        log(f"    nested set rebuilt by Party._rebuild_tree in "
            f"{time.perf_counter() - start:.1f} s")
        # As activating or updating the module does for sales it has not
        # seen confirmed
        start = time.perf_counter()
        pool.get('relief.union.spending').rebuild()
        log(f"    spending totals rebuilt by Spending.rebuild in "
            f"{time.perf_counter() - start:.1f} s")
        cursor = transaction.connection.cursor()
        # workers in 10,000; gift money in 10,000 CNY = workers × standard
        cursor.execute(
            'INSERT INTO relief_union_plan ("union", year, state, '
            'grassroots_unions, workers, gift_standard, gift_total, '
            'planned_relief, quota, create_date, create_uid) '
            'SELECT p.id, %s, %s, NULL, w.workers, s.standard, '
            'CASE WHEN mod(p.id, 100) = 1 THEN NULL '
            'ELSE round(w.workers * s.standard * (0.5 + mod(p.id, 7) * 0.1)'
            ', 4) END, '
            'round(w.workers * s.standard * 0.2, 4), '
            'round(w.workers * s.standard * 0.1, 4), now(), 0 '
            'FROM party_party AS p '
            'CROSS JOIN LATERAL (SELECT round(COALESCE(p.union_members, '
            '20000) / 10000.0, 4) AS workers) AS w '
            'CROSS JOIN LATERAL (SELECT 300 + mod(p.id, 8) * 100 '
            'AS standard) AS s '
            'WHERE p.union_level IS NOT NULL AND mod(p.id, 20) != 7 '
            'AND NOT EXISTS (SELECT 1 FROM relief_union_plan q '
            'WHERE q.union = p.id AND q.year = %s)',
            (year, 'confirmed', year))
        log(f"    {cursor.rowcount:,} plans for {year}")
        transaction.commit()


def prepare(args):
    "Return the names of the empty and loaded databases, made or restored"
    sig = signature()
    base = f'{MODULE}-{sig}'
    activated = args.cache / f'{base}.dump'
    setup = args.cache / f'{base}-setup.dump'
    loaded = args.cache / f'{base}-{loaded_key(args)}.dump'
    prefix = f'relief_bench_union_{os.getpid()}'
    empty_db, loaded_db = f'{prefix}_empty', f'{prefix}_loaded'
    created, restored = [], []
    try:
        created.append(empty_db)
        restored.append(empty_db)
        if setup.exists():
            restore(empty_db, setup)
        else:
            if activated.exists():
                restore(empty_db, activated)
            else:
                activate(empty_db)
                save(empty_db, activated)
            log("setting up company, products, unions (cached for later "
                "runs)")
            from proteus import config as pconfig
            set_up(pconfig.set_trytond(database=empty_db))
            save(empty_db, setup)
        created.append(loaded_db)
        if loaded.exists():
            restore(loaded_db, loaded, jobs=2)
            restored.append(loaded_db)
        else:
            restore(loaded_db, setup)
            log(f"generating {args.unions:,} unions and {args.lines:,} sale "
                "lines in SQL (cached for later runs)")
            start = time.perf_counter()
            generate(loaded_db, args)
            from proteus import config as pconfig
            rebuild_and_plan(pconfig.set_trytond(database=loaded_db),
                args.year)
            execute('VACUUM ANALYZE', loaded_db)
            log(f"    generated in {time.perf_counter() - start:.0f} s; "
                "dumping")
            save(loaded_db, loaded)
        # pg_restore keeps neither the statistics nor the visibility map
        for name in restored:
            execute('VACUUM ANALYZE', name)
    except BaseException:
        drop(created)
        raise
    return empty_db, loaded_db


# Roll-up


def baseline_query(year):
    "The hand-written GROUP BY of the own spending, with its parameters"
    return ('SELECT s.relief_union, SUM(CASE WHEN l.quantity != 0 THEN '
        'l.relief_amount * CAST(COALESCE(l.actual_quantity, l.quantity) '
        '/ l.quantity AS NUMERIC) ELSE 0 END) '
        'FROM sale_line AS l JOIN sale_sale AS s ON l.sale = s.id '
        'WHERE s.state IN (%s, %s, %s) AND s.relief_union IS NOT NULL '
        'AND s.sale_date >= %s AND s.sale_date < %s '
        'AND l.relief_amount IS NOT NULL '
        'GROUP BY s.relief_union'), (
        'confirmed', 'processing', 'done',
        dt.date(year, 1, 1), dt.date(year + 1, 1, 1))


class Rollup:
    """The ways of computing the roll-up, each in a fresh transaction.

    Each records how long its steps took in parts[variant][step]."""

    def __init__(self, cfg, year):
        from trytond.pool import Pool
        self.cfg = cfg
        self.year = year
        self.pool = Pool(cfg.database_name)
        self.Compliance = self.pool.get('relief.union.compliance')
        self.tabs = self._tabs()
        self.parts = {}
        self.recording = True

    def _tabs(self):
        "The domains of the action's tabs: the first, those counted"
        from trytond.pyson import PYSONDecoder
        from trytond.transaction import Transaction
        with Transaction().start(self.cfg.database_name, 0, readonly=True):
            Domain = self.pool.get('ir.action.act_window.domain')
            ModelData = self.pool.get('ir.model.data')
            action = ModelData.get_id(MODULE, 'act_compliance')
            domains = Domain.search([('act_window', '=', action)],
                order=[('sequence', 'ASC'), ('id', 'ASC')])
            decoded = [(PYSONDecoder({}).decode(d.domain or '[]'), d.count)
                for d in domains]
        return decoded[0][0], [d for d, c in decoded if c]

    def transaction(self):
        from trytond.transaction import Transaction
        return Transaction().start(self.cfg.database_name, self.cfg.user,
            readonly=True, context=dict(self.cfg.context, year=self.year))

    def step(self, variant, name, function, *args):
        start = time.perf_counter()
        result = function(*args)
        if self.recording:
            self.parts.setdefault(variant, {}).setdefault(name, []).append(
                (time.perf_counter() - start) * 1000)
        return result

    def _fetch(self, variant, query):
        with self.transaction() as transaction:
            cursor = transaction.connection.cursor()
            self.step(variant, 'execute', cursor.execute, *query)
            return self.step(variant, 'fetch', cursor.fetchall)

    def baseline(self):
        return self._fetch('baseline', baseline_query(self.year))

    def sql(self):
        with self.transaction():
            query = self.step('sql', 'build', self.Compliance.table_query)
        return self._fetch('sql', query)

    def tree(self):
        "The roll-up alone: own spending and subtree total of each union"
        with self.transaction():
            query = self.Compliance._tree_query(self.year)
        return self._fetch('tree', query)

    def orm(self):
        Compliance = self.Compliance
        with self.transaction():
            # search_read is search then read
            records = self.step('orm', 'search', Compliance.search, [])
            return self.step('orm', 'read', Compliance.read,
                [r.id for r in records], list(FIGURES))

    def list_view(self):
        "What sao asks to open the action's list on its first tab"
        first, counted = self.tabs
        Compliance = self.Compliance
        with self.transaction():
            records = self.step('list', 'search', Compliance.search,
                first, 0, LIST_LIMIT, None)
            count = None
            if len(records) == LIST_LIMIT:
                count = self.step('list', 'count', Compliance.search_count,
                    first, 0, LIST_LIMIT * 100)
            rows = self.step('list', 'read', Compliance.read,
                [r.id for r in records], list(LIST_FIELDS))
            tabs = self.step('list', 'tab counts', lambda: [
                    Compliance.search_count(d, 0, 1000) for d in counted])
            return rows, count, tabs

    def check(self):
        "The roll-up adds up as the baseline does"
        from sql import Column
        own = {u: a for u, a in self.baseline()}
        with self.transaction() as transaction:
            cursor = transaction.connection.cursor()
            query = self.Compliance.table_query()
            cursor.execute(*query.select(*(Column(query, c) for c in
                        ['union', 'spending_own', 'spending', 'level'])))
            rows = cursor.fetchall()
        problems = []
        mine = {u: o for u, o, _, _ in rows}
        for union, amount in own.items():
            if mine.get(union) != amount:
                problems.append(f"union {union}: own {mine.get(union)} "
                    f"against {amount}")
                break
        total = sum(own.values())
        province = [s for _, _, s, level in rows if level == 'province']
        if province != [total]:
            problems.append(f"province {province} against {total}")
        self.parts.clear()
        return len(rows), len(own), total, problems

    def explain(self, which):
        "EXPLAIN ANALYZE of the baseline or of the table_query"
        with self.transaction() as transaction:
            cursor = transaction.connection.cursor()
            if which == 'baseline':
                query, params = baseline_query(self.year)
            else:
                query, params = self.Compliance.table_query()
            cursor.execute('EXPLAIN (ANALYZE, BUFFERS) ' + query, params)
            return [r for r, in cursor]


def time_rollup(rollup, args, rng):
    """Interleave the variants; (a) ORM only in the first --orm-repeat
    timed rounds (it is slow)"""
    variants = {
        'baseline': rollup.baseline,
        'sql': rollup.sql,
        'tree': rollup.tree,
        'list': rollup.list_view,
        'orm': rollup.orm,
        }
    times = {v: [] for v in variants}
    order = list(variants)
    for round_ in range(args.rollup_warmup + args.rollup_repeat):
        timed = round_ >= args.rollup_warmup
        rollup.recording = timed
        rng.shuffle(order)
        for variant in order:
            if variant == 'orm' and (not timed or len(times['orm'])
                    >= args.orm_repeat):
                continue
            start = time.perf_counter()
            variants[variant]()
            if timed:
                times[variant].append((time.perf_counter() - start) * 1000)
    return times


# Quoting and confirming


def quoted_drafts(cfg, count):
    "count fresh draft copies of the model sale (ids)"
    model, = cfg.get_proxy('sale.sale').search(
        [('reference', '=', REFERENCE + '-model')], 0, None, None,
        cfg.context)
    return copies(cfg, 'sale.sale', model, count)


def time_sales(cfgs, args, rng):
    per_variant = args.warmup + args.repeat
    fresh = {v: quoted_drafts(cfg, per_variant) for v, cfg in cfgs.items()}
    times = {(m, v): [] for m in ['quote', 'confirm'] for v in cfgs}
    order = list(cfgs)
    for round_ in range(per_variant):
        for method in ['quote', 'confirm']:
            rng.shuffle(order)
            for variant in order:
                ms = timed_clicks(cfgs[variant], 'sale.sale',
                    fresh[variant][round_], [method])
                if round_ >= args.warmup:
                    times[(method, variant)].append(ms)
    # The sales did go through, for their union
    for variant, cfg in cfgs.items():
        confirmed = states(cfg, 'sale.sale', fresh[variant])
        refuse_unless(set(confirmed) <= {'confirmed', 'processing'},
            f"the sales on {variant!r} are not all confirmed: {confirmed}")
        without = cfg.get_proxy('sale.sale').search_count([
                ('id', 'in', fresh[variant]),
                ('relief_union', '=', None)], 0, None, cfg.context)
        refuse_unless(not without,
            f"{without} sales on {variant!r} have no union")
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--unions', type=int, default=60_000,
        help="unions in all (default: %(default)s)")
    parser.add_argument('--industry', type=int, default=5,
        help="provincial industry unions (default: %(default)s)")
    parser.add_argument('--members', type=int, default=50_000,
        help="members of grassroots unions who buy (B2C) "
        "(default: %(default)s)")
    parser.add_argument('--lines', type=int, default=2_000_000,
        help="sale lines (default: %(default)s)")
    parser.add_argument('--lines-per-sale', type=int, default=5,
        help="(default: %(default)s)")
    parser.add_argument('--year', type=int, default=dt.date.today().year - 1,
        help="the year of the sales and of the roll-up (default: last "
        "year, %(default)s)")
    parser.add_argument('--rollup-repeat', type=int, default=5,
        help="timed rounds of the roll-up variants (default: %(default)s)")
    parser.add_argument('--rollup-warmup', type=int, default=1,
        help="untimed rounds of the roll-up first (default: %(default)s)")
    parser.add_argument('--orm-repeat', type=int, default=1,
        help="timed rounds with (a), the ORM's search_read of every row, "
        "which takes long (default: %(default)s; 0: skip it)")
    parser.add_argument('--repeat', type=int, default=40,
        help="timed quotes and confirmations per database, as in "
        "bench_certification (default: %(default)s)")
    parser.add_argument('--warmup', type=int, default=5,
        help="untimed quotes and confirmations per database first "
        "(default: %(default)s)")
    parser.add_argument('--explain', action='store_true',
        help="print EXPLAIN ANALYZE of the baseline and the table_query")
    args = parse_args(parser, "where the databases are kept as dumps")
    started = time.monotonic()
    names = prepare(args)
    try:
        guarded(run, names, args, started)
    finally:
        drop(names)


def run(names, args, started):
    from proteus import config as pconfig
    empty_db, loaded_db = names
    cfgs = {'empty': pconfig.set_trytond(database=empty_db),
        'loaded': pconfig.set_trytond(database=loaded_db)}
    counts = dict(zip(['unions', 'members', 'sales', 'lines'], execute(
                "SELECT (SELECT count(*) FROM party_party WHERE union_level "
                "IS NOT NULL), (SELECT count(*) FROM party_party WHERE "
                "member_union IS NOT NULL), (SELECT count(*) FROM sale_sale),"
                " (SELECT count(*) FROM sale_line)", loaded_db)[0]))
    rng = random.Random(args.seed)

    rollup = Rollup(cfgs['loaded'], args.year)
    rows, spenders, total, problems = rollup.check()
    log(f"roll-up of {rows:,} unions, {spenders:,} with spending of their "
        f"own, {total:,.2f} CNY in {args.year}: "
        + ('adds up as the baseline' if not problems
            else 'DIFFERS: ' + '; '.join(problems)))
    refuse_unless(not problems, "the roll-up does not add up as the "
        "baseline: " + '; '.join(problems))
    refuse_unless(rows and spenders and total, f"a roll-up of {rows} "
        f"unions, {spenders} spending, {total} CNY in {args.year}: no "
        "sale lines of that year to roll up")
    log(f"timing the roll-up: {args.rollup_warmup} untimed then "
        f"{args.rollup_repeat} timed rounds, interleaved ((a) in "
        f"{min(args.orm_repeat, args.rollup_repeat)} of them)")
    rollup_times = time_rollup(rollup, args, rng)

    log(f"quoting and confirming {args.warmup + args.repeat} sales "
        f"per database, interleaved ({args.warmup} untimed first)")
    sale_times = time_sales(cfgs, args, rng)

    print()
    print(f"Loaded: {counts['unions']:,} unions, {counts['members']:,} "
        f"members, {counts['sales']:,} sales, {counts['lines']:,} sale "
        f"lines; roll-up of {args.year}")
    header = (f"{'variant':<28} {'median ms':>10} {'p90 ms':>9} "
        f"{'ratio':>6}  {'vs':<15} target")
    print(header)
    print('-' * (len(header) + 30))

    def row(label, values, ref=None, target=None, text=None):
        median = statistics.median(values)
        ratio = vs = verdict = ''
        if ref is not None:
            value = median / statistics.median(ref[1])
            ratio, vs = f'{value:.2f}', ref[0]
            if target:
                met = Decimal(str(value)) <= target
                verdict = f"{text}: {'met' if met else 'NOT met'}"
            elif text:
                verdict = text
        print(f"{label:<28} {median:>10.1f} {p90(values):>9.1f} "
            f"{ratio:>6}  {vs:<15} {verdict}")
    base = ('baseline', rollup_times['baseline'])
    row('roll-up baseline GROUP BY', rollup_times['baseline'])
    row('roll-up (b) table_query SQL', rollup_times['sql'], base,
        ROLLUP_TARGET, "≤ 1.5 × baseline")
    row("roll-up (b') _tree_query", rollup_times['tree'], base,
        None, "(diagnostic: (b) without plans, rules, areas)")
    if rollup_times['orm']:
        row('roll-up (a) ORM search_read', rollup_times['orm'], base,
            None, "(for information)")
    row('roll-up (c) list view', rollup_times['list'], base,
        None, "(for information)")
    for method in ['quote', 'confirm']:
        empty = sale_times[(method, 'empty')]
        row(f'{method}, empty', empty)
        row(f'{method}, loaded', sale_times[(method, 'loaded')],
            (f'{method}, empty', empty),
            CONFIRM_TARGET if method == 'confirm' else None,
            "loaded ≤ 1.1 × empty" if method == 'confirm'
            else "(for information)")
    print()
    print("Steps, median ms:")
    labels = {'baseline': 'baseline', 'sql': '(b)', 'tree': "(b')",
        'orm': '(a)', 'list': '(c)'}
    for variant, label in labels.items():
        steps = rollup.parts.get(variant)
        if steps:
            print(f"  {label:<9} " + ', '.join(
                    f"{name} {statistics.median(values):.1f}"
                    for name, values in steps.items()))
    print()
    print("The target of the roll-up is compared with (b): like the "
        "baseline it is one statement whose rows are all fetched, so the "
        "ratio is the cost of the roll-up and of the report's columns over "
        "the plain GROUP BY of the same lines; (a) adds the ORM (a search "
        "then a read, each running the statement, and a record per row: "
        "Python assertions are "
        f"{'on' if __debug__ else 'off'} here), (c) runs the statement "
        "once per request (search, count, read of 80 rows, tab counts).")
    if args.explain:
        for which in ['baseline', 'table_query']:
            print()
            print(f"EXPLAIN ANALYZE, {which}:")
            for line in rollup.explain(which):
                print('  ' + line)
    print(f"Total time: {time.monotonic() - started:.0f} s")


if __name__ == '__main__':
    main()
