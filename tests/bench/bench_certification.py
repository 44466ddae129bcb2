# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Time the confirmation of a relief purchase on PostgreSQL.

Run by scripts/bench (a throwaway cluster in TRYTOND_DATABASE_URI).  Each
confirmation is a fresh quoted purchase of 5 relief products from a
certified supplier, confirmed through proteus as a client's click is (the
dispatcher's path: a transaction that asks for a lock is started again with
the lock taken first).  Processing (invoices, moves) goes to the queue as
with trytond-worker, so what is timed is the click.  Variants, interleaved
in a random order each round:

  no checks                 plain Tryton: the module's serialization,
                            checks and running total off
  checks                    the module as it is
  checks, history           a supplier with N earlier purchase lines
  no checks, history        the same supplier, checks off

Prints a table of medians, 90th percentiles and ratios beside the targets;
asserts no timing, but prints no ratio and exits non-zero when the work
timed is not the work named (a purchase not confirmed, no history inserted).
The database is created (or restored from the dump cached
in --cache) and dropped at the end."""
import argparse
import datetime as dt
import hashlib
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from unittest import mock
from urllib.parse import urlparse

# Before trytond reads its configuration: confirming queues the processing
# (as with trytond-worker) instead of running it in the timed call.
os.environ['TRYTOND_QUEUE__WORKER'] = 'True'

ROOT = Path(__file__).resolve().parents[2]
MODULE = 'relief_certification'
TARGET = Decimal('1.1')
LINES = 5


def log(message):
    print(f"    {message}", flush=True)


def uri(database):
    base = urlparse(os.environ['TRYTOND_DATABASE_URI'])
    return base._replace(path='/' + database).geturl()


def execute(statement, database='postgres', params=None):
    import psycopg
    with psycopg.connect(uri(database), autocommit=True) as connection:
        cursor = connection.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def signature():
    "A hash of the modules' files, as scripts/test keys its caches"
    digest = hashlib.sha1()
    for path in sorted((ROOT / 'modules').rglob('*')):
        if path.suffix in {'.py', '.xml', '.cfg', '.po', '.csv'}:
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def activate(name, module):
    "Initialise the existing database name and activate module in it"
    log(f"activating {module} (a few minutes; cached for later runs)")
    admin = [str(Path(sys.executable).parent / 'trytond-admin'), '-d', name]
    with tempfile.NamedTemporaryFile('w', suffix='.pass') as passfile:
        passfile.write(secrets.token_urlsafe(12))
        passfile.flush()
        env = dict(os.environ, TRYTONPASSFILE=passfile.name)
        subprocess.run(admin + ['--all', '--email', 'admin@example.invalid'],
            env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(admin + ['-u', module, '--activate-dependencies'],
            env=env, check=True, stdout=subprocess.DEVNULL)


def create_database(name, cache, module=MODULE):
    "Create name with module activated, from the cached dump if any"
    dump = cache / f'{module}-{signature()}.dump'
    execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
    if dump.exists():
        log(f"restoring the activated database from {dump.relative_to(ROOT)}")
        subprocess.run(['pg_restore', '--no-owner', '-d', uri(name),
                str(dump)], check=True)
        return
    activate(name, module)
    cache.mkdir(parents=True, exist_ok=True)
    partial = dump.with_suffix('.part')
    subprocess.run(['pg_dump', '-Fc', '-f', str(partial), uri(name)],
        check=True)
    partial.rename(dump)


def set_up_company(cfg):
    "The distributor (CNY, Asia/Shanghai); admin in the back office"
    from proteus import Model, Wizard
    Currency = Model.get('currency.currency')
    Party = Model.get('party.party')
    User = Model.get('res.user')
    Group = Model.get('res.group')
    ModelData = Model.get('ir.model.data')

    cny = Currency(name="人民币", code='CNY', symbol='¥',
        rounding=Decimal('0.01'), digits=2)
    cny.rates.new(date=dt.date(2000, 1, 1), rate=Decimal(1))
    cny.save()
    party = Party(name="陕西省总工会消费帮扶中心")
    party.save()
    company_config = Wizard('company.company.config')
    company_config.execute('company')
    company_config.form.party = party
    company_config.form.currency = cny
    company_config.form.timezone = 'Asia/Shanghai'
    company_config.execute('add')
    admin = User(cfg.user)
    group = Group(ModelData.get_id(
            'relief', 'group_relief_back_office', cfg.context))
    if group not in admin.groups:
        admin.groups.append(group)
        admin.save()
    cfg._context = User.get_preferences(True, {})


def set_up(cfg):
    "Company, a cap rule, 5 listed relief products, suppliers E and H"
    from proteus import Model
    Party = Model.get('party.party')
    set_up_company(cfg)

    Subdivision = Model.get('country.subdivision')
    Rule = Model.get('relief.rule')
    county, = Subdivision.find(
        [('relief_level', '=', 'county')], limit=1, order=[('id', 'ASC')])
    today = dt.date.today()
    Rule(jurisdiction=county, kind='purchase_cap_per_person',
        value=Decimal(100), valid_from=dt.date(today.year - 1, 1, 1),
        source="Bench").save()

    Uom = Model.get('product.uom')
    Template = Model.get('product.template')
    Entry = Model.get('relief.catalogue.entry')
    unit, = Uom.find([('name', '=', "Unit")])
    products = []
    for name in ["猕猴桃", "核桃", "土蜂蜜", "香菇", "小米"]:
        template = Template(name=name, type='goods', relief=True,
            purchasable=True, default_uom=unit, list_price=Decimal(20))
        template.save()
        products.append(template.products[0])

    Certification = Model.get('relief.supplier.certification')
    ProductCertification = Model.get('relief.product.certification')
    suppliers = {}
    for code in ['E', 'H']:
        supplier = Party(name=f"周至县合作社 {code}")
        supplier.save()
        certification = Certification(supplier=supplier, county=county,
            office="周至县扶贫开发办公室", number=f"BENCH-{code}",
            # A cap far above what the bench buys (poor people × 100).
            poor_people=1_000_000,
            valid_from=today - dt.timedelta(days=400),
            valid_to=today + dt.timedelta(days=400))
        certification.click('certify')
        for product in products:
            ProductCertification(template=product.template,
                supplier=supplier, supplier_certification=certification,
                catalogue_number=f"CAT-{code}-{product.id}",
                valid_from=certification.valid_from,
                valid_to=certification.valid_to).click('certify')
        suppliers[code] = supplier
    # Listed once certified
    for product in products:
        Entry(template=product.template).click('list_')
    return products, suppliers


def model_purchase(supplier, products):
    "A draft purchase of the 5 products, to copy"
    from proteus import Model
    Purchase = Model.get('purchase.purchase')
    purchase = Purchase(party=supplier)
    for product in products:
        line = purchase.lines.new(product=product)
        line.quantity = 10
        line.unit_price = Decimal(20)
    purchase.save()
    return purchase


def insert_history(name, supplier, model, count, per_purchase):
    "count earlier purchase lines of supplier, per_purchase a purchase"
    import psycopg
    purchases = -(-count // per_purchase)
    year = dt.date.today().year
    with psycopg.connect(uri(name)) as connection:
        def columns(table):
            return [c for c, in connection.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = %s AND column_name != 'id' "
                    "ORDER BY ordinal_position", (table,))]

        def select(table, overrides, alias):
            names = columns(table)
            return ', '.join(f'"{c}"' for c in names), ', '.join(
                overrides.get(c, f'{alias}."{c}"') for c in names)
        # Nine in ten done, the others confirmed; spread over this year.
        names, values = select('purchase_purchase', {
                'number': "'BH' || g.i",
                'reference': "'bench-history'",
                'state': "CASE WHEN mod(g.i, 10) = 0 THEN 'confirmed' "
                "ELSE 'done' END",
                'invoice_state': "CASE WHEN mod(g.i, 10) = 0 THEN 'none' "
                "ELSE 'paid' END",
                'shipment_state': "CASE WHEN mod(g.i, 10) = 0 THEN 'none' "
                "ELSE 'received' END",
                'purchase_date': f"DATE '{year}-01-01' + mod(g.i, 365)",
                'untaxed_amount_cache': '100',
                'tax_amount_cache': '0',
                'total_amount_cache': '100',
                'create_date': 'now()',
                }, 'p')
        connection.execute(
            f'INSERT INTO purchase_purchase ({names}) SELECT {values} '
            'FROM purchase_purchase AS p, generate_series(1, %s) AS g(i) '
            'WHERE p.id = %s', (purchases, model))
        line, = connection.execute(
            'SELECT min(id) FROM purchase_line WHERE purchase = %s',
            (model,)).fetchone()
        names, values = select('purchase_line', {
                'purchase': 'h.id',
                'sequence': 's.j',
                'create_date': 'now()',
                }, 'l')
        connection.execute(
            f'INSERT INTO purchase_line ({names}) SELECT {values} '
            'FROM purchase_purchase AS h, purchase_line AS l, '
            'generate_series(1, %s) AS s(j) '
            "WHERE h.party = %s AND h.reference = 'bench-history' "
            'AND l.id = %s', (per_purchase, supplier, line))
        connection.commit()
    execute('ANALYZE purchase_purchase', name)
    execute('ANALYZE purchase_line', name)
    return purchases


def rebuild_consumption(cfg):
    "Recompute the running totals after the history was inserted in SQL"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(cfg.database_name, 0) as transaction:
        Pool(cfg.database_name).get('relief.purchase.consumption').rebuild()
        transaction.commit()


def copies(cfg, model, record_id, count):
    "count fresh copies of the record of model (ids), 20 a call"
    proxy = cfg.get_proxy(model)
    ids = []
    while len(ids) < count:
        ids.extend(proxy.copy([record_id] * min(20, count - len(ids)), {},
                cfg.context))
    return ids


def timed_clicks(cfg, model, record_id, buttons, patches=()):
    """Click buttons on one record as a client does, with patches started
    (what a baseline leaves out); return the milliseconds"""
    proxy = cfg.get_proxy(model)
    for patch in patches:
        patch.start()
    try:
        start = time.perf_counter()
        for button in buttons:
            getattr(proxy, button)([record_id], cfg.context)
        return (time.perf_counter() - start) * 1000
    finally:
        for patch in patches:
            patch.stop()


def quoted_copies(cfg, model, count):
    "count fresh quoted copies of model (ids)"
    ids = copies(cfg, 'purchase.purchase', model.id, count)
    cfg.get_proxy('purchase.purchase').quote(ids, cfg.context)
    return ids


def timed_confirm(cfg, purchase_id, checks):
    "Confirm one purchase as a click does; return the milliseconds"
    from trytond.pool import Pool
    patches = []
    if not checks:
        Purchase = Pool(cfg.database_name).get('purchase.purchase')
        Consumption = Pool(cfg.database_name).get(
            'relief.purchase.consumption')
        # Everything the module adds to a confirmation: plain Tryton
        noop = classmethod(lambda cls, purchases, *a: None)
        patches = [
            mock.patch.object(Purchase, '_relief_templates',
                classmethod(lambda cls, purchases: {})),
            mock.patch.object(Purchase, 'serialize_relief_caps', noop),
            mock.patch.object(Purchase, 'check_relief_certification', noop),
            mock.patch.object(Purchase, 'check_relief_cap', noop),
            mock.patch.object(Consumption, 'add', noop),
            ]
    return timed_clicks(cfg, 'purchase.purchase', purchase_id, ['confirm'],
        patches)


def consumed_ms(cfg, supplier, repeat=20):
    "Median milliseconds of the cap query (relief_consumed) alone"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(cfg.database_name)
    Purchase = pool.get('purchase.purchase')
    Party = pool.get('party.party')
    Certification = pool.get('relief.supplier.certification')
    today = dt.date.today()
    times = []
    with Transaction().start(cfg.database_name, cfg.user, readonly=True,
            context=cfg.context):
        start, end = Certification.cap_period(today)
        for _ in range(repeat):
            begin = time.perf_counter()
            Purchase.relief_consumed([Party(supplier.id)], start, end)
            times.append((time.perf_counter() - begin) * 1000)
    return statistics.median(times)


class NotMeasured(Exception):
    "The work timed is not the work the benchmark names"


def refuse_unless(condition, reason):
    "Refuse to print a ratio of work that is not the work named"
    if not condition:
        raise NotMeasured(reason)


def guarded(run, *args):
    """Call run(*args); when the work it timed is not the work it names,
    print why instead of ratios and exit non-zero"""
    try:
        run(*args)
    except NotMeasured as reason:
        print(f"\nNo figures: {reason}", flush=True)
        sys.exit(2)


def company_today(cfg):
    "The company's date, as Tryton dates a sale (its time zone)"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(cfg.database_name, cfg.user, readonly=True,
            context=cfg.context):
        return Pool(cfg.database_name).get('ir.date').today()


def states(cfg, model, ids):
    "The states of the records of model, counted: {state: count}"
    counts = {}
    for record in cfg.get_proxy(model).read(ids, ['state'], cfg.context):
        counts[record['state']] = counts.get(record['state'], 0) + 1
    return counts


def p90(values):
    if len(values) < 2:
        return max(values)
    return statistics.quantiles(values, n=10)[-1]


def parse_args(parser, cache="where the activated database is kept as a "
        "dump"):
    """Add the options every benchmark has, parse them and require the
    PostgreSQL cluster of scripts/bench"""
    parser.add_argument('--cache', type=Path, default=ROOT / 'var' / 'cache',
        help=cache)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    if not os.environ.get('TRYTOND_DATABASE_URI', '').startswith(
            'postgresql'):
        sys.exit("TRYTOND_DATABASE_URI must name a PostgreSQL cluster "
            "(scripts/bench starts one)")
    import warnings
    warnings.filterwarnings('ignore', "The path specified in the URI")
    return args


def drop(names):
    "Close trytond's connections to the databases, then drop them"
    if 'proteus.config' in sys.modules:
        from trytond import backend
        for name in names:
            backend.Database(name).close()
    for name in names:
        execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def interleaved(variants, rounds, warmup, seed, timed):
    """Call timed(variant, round) for every variant each round, in a new
    random order each round; return the times after the warm-up rounds,
    by variant"""
    times = {v: [] for v in variants}
    order = list(variants)
    rng = random.Random(seed)
    for round_ in range(rounds):
        rng.shuffle(order)
        for variant in order:
            ms = timed(variant, round_)
            if round_ >= warmup:
                times[variant].append(ms)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=40,
        help="timed confirmations per variant (default: %(default)s)")
    parser.add_argument('--warmup', type=int, default=5,
        help="untimed confirmations per variant first")
    parser.add_argument('--history', type=int, default=100_000,
        help="earlier purchase lines of the history supplier")
    parser.add_argument('--lines-per-purchase', type=int, default=1,
        help="lines per earlier purchase: 1 (default) gives the most "
        "purchases for the cap query to add up")
    args = parse_args(parser)
    name = f'relief_bench_{os.getpid()}'
    started = time.monotonic()
    create_database(name, args.cache)
    try:
        guarded(run, name, args, started)
    finally:
        drop([name])


def run(name, args, started):
    from proteus import config as pconfig
    cfg = pconfig.set_trytond(database=name)
    products, suppliers = set_up(cfg)
    models = {code: model_purchase(s, products)
        for code, s in suppliers.items()}
    log(f"inserting {args.history:,} earlier purchase lines of supplier H")
    count = insert_history(name, suppliers['H'].id, models['H'].id,
        args.history, args.lines_per_purchase)
    rebuild_consumption(cfg)
    log(f"    ({count:,} purchases, set-based; running totals rebuilt)")

    variants = {
        'no checks': ('E', False),
        'checks': ('E', True),
        'no checks, history': ('H', False),
        'checks, history': ('H', True),
        }
    per_variant = args.warmup + args.repeat
    log(f"creating {per_variant * len(variants)} quoted purchases "
        f"of {LINES} lines")
    fresh = {v: quoted_copies(cfg, models[s], per_variant)
        for v, (s, _) in variants.items()}
    log(f"confirming {per_variant} purchases per variant, interleaved "
        f"({args.warmup} untimed first)")
    times = interleaved(variants, per_variant, args.warmup, args.seed,
        lambda variant, round_: timed_confirm(
            cfg, fresh[variant][round_], variants[variant][1]))
    query = {code: consumed_ms(cfg, s) for code, s in suppliers.items()}
    refuse_unless(not args.history or count > 0,
        f"no earlier purchase inserted for --history {args.history}")
    for variant, ids in fresh.items():
        confirmed = states(cfg, 'purchase.purchase', ids)
        refuse_unless(set(confirmed) <= {'confirmed', 'processing'},
            f"the purchases of {variant!r} are not all confirmed: "
            f"{confirmed}")

    median = {v: statistics.median(t) for v, t in times.items()}
    reference = {
        'no checks': None,
        'checks': ('no checks', "checks ≤ 1.1 × no checks"),
        'no checks, history': ('no checks', None),
        'checks, history': ('checks', "history ≤ 1.1 × empty"),
        }
    print()
    print(f"Confirming a purchase of {LINES} relief lines on PostgreSQL, "
        f"{args.repeat} times per variant; history: {args.history:,} "
        f"earlier lines ({count:,} purchases) of the supplier")
    header = (f"{'variant':<20} {'median ms':>10} {'p90 ms':>8} "
        f"{'ratio':>6}  {'vs':<10} target")
    print(header)
    print('-' * (len(header) + 24))
    for variant in variants:
        ref = reference[variant]
        ratio = vs = target = ''
        if ref:
            value = median[variant] / median[ref[0]]
            ratio, vs = f'{value:.2f}', ref[0]
            if ref[1]:
                met = Decimal(str(value)) <= TARGET
                target = f"{ref[1]}: {'met' if met else 'NOT met'}"
        print(f"{variant:<20} {median[variant]:>10.1f} "
            f"{p90(times[variant]):>8.1f} {ratio:>6}  {vs:<10} {target}")
    print()
    print(f"The cap query alone (Purchase.relief_consumed, median of 20): "
        f"{query['E']:.2f} ms with no history, {query['H']:.2f} ms with "
        "the history")
    print(f"Total time: {time.monotonic() - started:.0f} s")


if __name__ == '__main__':
    main()
