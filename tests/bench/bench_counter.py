# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Time counters on PostgreSQL: a member's sale, a cabinet feed, a settlement.

Run by scripts/bench (a throwaway cluster in TRYTOND_DATABASE_URI).  One
database with relief_counter activated, set up as its scenarios are
(relief_counter's test tools: the distributor, unions, members SN-0001 to
SN-0003, the counter of 西安市总工会's 职工之家 and the smart cabinet of a
bank branch, each stocked with its own lots; a running programme paying
20 % of listed goods with a member limit far above what is bought; the
devices' product and payment codes; the cabinet's device secret).

1. A counter sale, in-process (trytond under a Transaction, committed):
   the sale with 3 lines (2 boxes of kiwis, a bag of walnuts, a tea set:
   each subsidised for a member) made as the client makes it, each click
   its own call: the form (on_change of the member number and of each
   line's product) saved; the Pay button (Sale.pay: the subsidies) and its
   wizard (a cash payment of what is left, Sale.process: the subsidies
   consumed from the budget and the member's limit, the number); Post
   (stock moves, account move with the payer's share).  With
   member SN-0001 (member price, subsidies) against the same sale to a
   walk-in buyer (list price, no subsidy).  Interleaved in a random order
   each round; median (target: ≤ 1.2 ×).
2. A cabinet's feed of --feed-sales sales (1 to 3 lines, paid by card, a
   fifth of them by members who paid what the subsidy left) through the
   feed's route (POST .../points/<device>/sales, signed, in batches of
   --batch ≤ 500, in-process through trytond's WSGI application: no HTTP
   server), against a hand-written INSERT of the same rows (the sales,
   lines, payments and subsidy lines the feed made, ids from the
   sequences) into sale_point_sale, sale_point_sale_line,
   sale_point_payment and relief_subsidy_line, batch by batch, each batch
   committed (target: ≤ 3 ×).
3. The day's settlement of --points counters: --points counters (copies of
   the counter) with --sales-per-point sales a day for --days days
   (copies, in SQL, of a walk-in sale and of a member's sale of (1), one
   in five a member's), the last day done, the others posted.  Reading
   the settlement (relief.counter.settlement) of the last day: (b) the SQL
   of its table_query with the day's WHERE, all rows fetched, and (a) the
   ORM's search_read of the list's figures, against a plain GROUP BY of
   the same sale lines by counter (the baseline); (c) the four views of
   the day (figures, payments by method, subsidies by payer, goods sold)
   read by the ORM, for information.  Issue 18 sets no target.

Prints medians beside their baselines as ratios and the targets; asserts
no timing, but prints no ratio and exits non-zero when the work timed is
not the work named (a sale not posted or without its subsidies, a feed
sale not taken and done, a settlement that does not add up as the
baseline).  The activated and set-up databases are kept as dumps in
--cache, keyed by a hash of the modules' files; the database is dropped
at the end."""
import argparse
import datetime as dt
import hashlib
import hmac
import json
import os
import random
import statistics
import sys
import time
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_certification import (  # noqa: E402
    create_database, drop, execute, guarded, log, p90, parse_args,
    refuse_unless, signature, uri)
from bench_union import restore, save  # noqa: E402

MODULE = 'relief_counter'
TARGETS = {'sale': Decimal('1.2'), 'feed': Decimal('3')}
COUNTER = "西安市总工会职工之家扶贫专柜"
CABINET = "长安银行高新支行劳动者港湾智能柜"
PROGRAM = "职工消费帮扶补贴"
MEMBERS = ['SN-0001', 'SN-0002', 'SN-0003']
# The devices' codes of the products
CODES = {'kiwi': 'KIWI', 'walnut': 'WALNUT', 'tea_set': 'TEA'}
# The programme names no product: it pays on each one
SUBSIDISED = set(CODES.values())
# The counter sale of (1): (product code, quantity)
SALE_LINES = [('KIWI', 2), ('WALNUT', 1), ('TEA', 1)]
STOCK = 10_000_000
MAX_BATCH = 500  # the route's limit (feed.MAX_SALES)
POINT_PREFIX = 'BENCH 扶贫专柜 '
NUMBER_PREFIX = 'BS-'
# The settlement's figures, as the list shows them
SETTLEMENT_FIELDS = ['point', 'date', 'host', 'sale_count', 'sale_total',
    'paid_total', 'subsidy_total', 'host_fee_rate', 'host_fee']
VIEWS = {
    'relief.counter.settlement': SETTLEMENT_FIELDS,
    'relief.counter.settlement.payment': [
        'point', 'date', 'method', 'payment_count', 'amount'],
    'relief.counter.settlement.subsidy': [
        'point', 'date', 'payer', 'sale_count', 'amount'],
    'relief.counter.settlement.product': [
        'point', 'date', 'product', 'quantity', 'amount'],
    }


# -- the database

def set_up(cfg):
    "The scenarios' counter and cabinet, the programme, codes, the secret"
    from proteus import Wizard
    from trytond.modules.account.tests.tools import create_chart
    from trytond.modules.company.tests.tools import create_company
    from trytond.modules.relief_counter.tests.tools import (
        set_up as set_up_counter)
    from trytond.modules.relief_subsidy.tests.tools import run_program
    today = dt.date.today()
    create_company()
    create_chart()
    s = set_up_counter(today, stock={p: STOCK for p in CODES})
    program = run_program(s, PROGRAM, Decimal('1000000000'), today)
    # The member limits' path (consumption per member), never reached
    program.click('draft')
    program.member_limit = Decimal('100000000')
    program.limit_period = 'month'
    program.click('run')
    for name, code in CODES.items():
        template = getattr(s, name).template
        template.code = code
        template.save()
    for method, code in [(s.cash, 'CASH'), (s.card, 'UNIONPAY')]:
        method.code = code
        method.save()
    Wizard('relief.counter.feed.secret', [s.cabinet])


def prepare(args):
    "Create the database from the set-up dump (made the first time)"
    base = args.cache / f'{MODULE}-{signature()}'
    setup = base.with_name(base.name + '-setup.dump')
    name = f'relief_bench_counter_{os.getpid()}'
    try:
        if setup.exists():
            restore(name, setup)
            execute('VACUUM ANALYZE', name)
        else:
            create_database(name, args.cache, MODULE)
            log("setting up the counter, the cabinet and the programme "
                "(cached for later runs)")
            from proteus import config as pconfig
            set_up(pconfig.set_trytond(database=name))
            save(name, setup)
    except BaseException:
        drop([name])
        raise
    return name


def references(cfg):
    "The records the benchmarks use, as ids and values"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(cfg.database_name)
    Point = pool.get('sale.point')
    Product = pool.get('product.product')
    Method = pool.get('sale.point.payment.method')
    Program = pool.get('relief.subsidy.program')
    Date = pool.get('ir.date')
    with Transaction().start(cfg.database_name, cfg.user, readonly=True,
            context=cfg.context):
        counter, = Point.search([('name', '=', COUNTER)])
        cabinet, = Point.search([('name', '=', CABINET)])
        products = {p.code: (p.id, p.template.gross_price)
            for p in Product.search([('code', 'in', list(CODES.values()))])}
        methods = {m.code: m.id for m in Method.search([])}
        program, = Program.search([('name', '=', PROGRAM)])
        return SimpleNamespace(
            counter=counter.id, cabinet=cabinet.id,
            device=cabinet.feed_device, secret=cabinet.feed_secret,
            products=products, methods=methods, program=program.id,
            today=Date.today())


# -- 1. a counter sale

def counter_sale(cfg, refs, member):
    """Make, pay, process and post a counter sale as the client's clicks
    do, each click its own call (a transaction, run again alone when it
    asks for locks, as the dispatcher does); return the milliseconds and
    the sale's id"""
    from trytond.pool import Pool
    pool = Pool(cfg.database_name)
    Sale = pool.get('sale.point.sale')
    Line = pool.get('sale.point.sale.line')
    Payment = pool.get('sale.point.payment')

    def save():
        "The form: the member's number, each line's product, Save"
        sale = Sale(**Sale.default_get(
                ['company', 'date', 'state', 'employee'],
                with_rec_name=False))
        sale.point = refs.counter
        if member:
            sale.member_code = member
            sale.on_change_member_code()
        lines = []
        for code, quantity in SALE_LINES:
            line = Line()
            line.sale = sale
            line.product = refs.products[code][0]
            line.quantity = quantity
            line.on_change_product()
            lines.append(line)
        sale.lines = lines
        sale.save()
        return sale.id

    def pay(sale):
        "The Pay button (the subsidies), then the wizard's cash payment"
        Sale.pay([Sale(sale)])
        Payment(sale=sale, method=refs.methods['CASH'],
            amount=Sale(sale).amount_to_pay).save()
        Sale.process([Sale(sale)])
    start = time.perf_counter()
    sale = dispatched(cfg, save)
    dispatched(cfg, lambda: pay(sale))
    dispatched(cfg, lambda: Sale.post([Sale(sale)]))
    return (time.perf_counter() - start) * 1000, sale


def dispatched(cfg, function):
    """Call function in a transaction committed, started again with the
    locks it asked for as the dispatcher does"""
    from trytond.transaction import Transaction, TransactionError
    extras = {}
    while True:
        with Transaction().start(cfg.database_name, cfg.user,
                context=cfg.context, **extras) as transaction:
            try:
                result = function()
            except TransactionError as error:
                transaction.rollback()
                error.fix(extras)
                continue
            transaction.commit()
            return result


def time_sales(cfg, refs, args):
    "The milliseconds of the counter sales by variant; their ids"
    from trytond.pool import Pool
    pool = Pool(cfg.database_name)
    Session = pool.get('sale.point.cash.session')
    Point = pool.get('sale.point')
    # The clerk opened the day's cash session before the first sale
    dispatched(cfg, lambda: Session.get_current(Point(refs.counter)).id)
    variants = {'no member': None, 'member': MEMBERS[0]}
    times = {v: [] for v in variants}
    ids = {v: [] for v in variants}
    order = list(variants)
    rng = random.Random(args.seed)
    for round_ in range(args.warmup + args.repeat):
        rng.shuffle(order)
        for variant in order:
            ms, sale = counter_sale(cfg, refs, variants[variant])
            ids[variant].append(sale)
            if round_ >= args.warmup:
                times[variant].append(ms)
    return times, ids


def check_sales(name, ids):
    """Refuse ratios unless every sale timed is posted with its move, the
    members' with a confirmed subsidy per subsidised line"""
    expected = {'member': len(SUBSIDISED), 'no member': 0}
    for variant, sales in ids.items():
        rows = execute(
            "SELECT s.state, s.move IS NOT NULL, s.member IS NOT NULL, "
            "(SELECT count(*) FROM relief_subsidy_line AS l "
            "WHERE l.point_sale = s.id AND l.state = 'confirmed') "
            "FROM sale_point_sale AS s WHERE s.id = ANY(%s)", name, (sales,))
        wrong = [r for r in rows if r != (
                'posted', True, variant == 'member', expected[variant])]
        refuse_unless(len(rows) == len(sales) and not wrong,
            f"the sales of {variant!r} are not all posted with "
            f"{expected[variant]} subsidies: {wrong[:3]}")


# -- 2. a cabinet's feed

def feed_entries(refs, count, prefix, members, rng):
    """count sales of the cabinet's device, ids prefix-NNNNNN, in the
    order of time up to a minute ago; members' at the member price, paid
    less their subsidy"""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    cent = Decimal('0.01')
    entries = []
    for i in range(count):
        member = rng.choice(MEMBERS) if rng.random() < members else None
        lines, total, subsidy = [], Decimal(0), Decimal(0)
        for code in rng.sample(sorted(CODES.values()), rng.randint(1, 3)):
            quantity = rng.randint(1, 2)
            price = refs.products[code][1]
            if member:
                price = (price * Decimal('0.9')).quantize(cent)
                if code in SUBSIDISED:
                    subsidy += (price * Decimal('0.2')).quantize(
                        cent, ROUND_HALF_EVEN) * quantity
            total += price * quantity
            lines.append({'product': code, 'quantity': quantity,
                    'unit_price': str(price)})
        entry = {'id': f'{prefix}-{i:06d}', 'lines': lines,
            'time': (now - dt.timedelta(seconds=count - i + 60)).isoformat(),
            'payments': [{'method': 'UNIONPAY',
                    'amount': str(total - subsidy)}]}
        if member:
            entry['member'] = member
        entries.append(entry)
    return entries


class Device:
    "The cabinet operator's system, posting to the route in-process"

    def __init__(self, database, refs):
        from werkzeug.test import Client
        from trytond.wsgi import app
        self.client = Client(app)
        self.url = (f'/{database}/relief/counter/v1/points/{refs.device}'
            '/sales')
        self.secret = refs.secret.encode()

    def post(self, entries):
        "Send a batch; return the milliseconds and the answer"
        start = time.perf_counter()
        data = json.dumps({'sales': entries}, ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        signature = hmac.new(self.secret, timestamp.encode() + b'.' + data,
            hashlib.sha256).hexdigest()
        response = self.client.post(self.url, data=data,
            content_type='application/json',
            headers={'X-Relief-Timestamp': timestamp,
                'X-Relief-Signature': signature})
        ms = (time.perf_counter() - start) * 1000
        answer = response.get_json(silent=True)
        refuse_unless(response.status_code == 200 and answer
            and answer.get('taken') == len(entries),
            f"the feed answered {response.status_code}: "
            f"{json.dumps(answer, ensure_ascii=False)[:600]}")
        return ms, answer


def feed(device, entries, batch):
    "Send entries in batches; return the milliseconds"
    total = 0
    for i in range(0, len(entries), batch):
        ms, _ = device.post(entries[i:i + batch])
        total += ms
    return total


def check_feed(name, refs, prefix, entries):
    """Refuse ratios unless every sale sent is taken, done, unflagged and
    the members' subsidised"""
    members = sum(1 for e in entries if e.get('member') and any(
            l['product'] in SUBSIDISED for l in e['lines']))
    (sales, done, flagged, subsidised), = execute(
        "SELECT count(*), count(*) FILTER (WHERE state = 'done'), "
        "count(*) FILTER (WHERE feed_exception IS NOT NULL), "
        "count(*) FILTER (WHERE EXISTS (SELECT 1 FROM relief_subsidy_line "
        "AS l WHERE l.point_sale = s.id AND l.state = 'confirmed')) "
        "FROM sale_point_sale AS s WHERE point = %s "
        "AND feed_transaction LIKE %s", name, (refs.cabinet, prefix + '-%'))
    refuse_unless((sales, done, flagged, subsidised) == (
            len(entries), len(entries), 0, members),
        f"of the {len(entries)} sales of the feed {prefix}: {sales} taken, "
        f"{done} done, {flagged} flagged, {subsidised} with subsidies "
        f"(expected {members})")


def columns(connection, table):
    return [c for c, in connection.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = %s AND column_name != 'id' "
            "ORDER BY ordinal_position", (table,))]


class Rows:
    """The rows a feed made, to insert again by hand (feed_transaction and
    number prefixed, the other values the same)"""
    TABLES = {
        'sale': 'sale_point_sale', 'line': 'sale_point_sale_line',
        'payment': 'sale_point_payment', 'subsidy': 'relief_subsidy_line'}

    def __init__(self, connection, point, prefix, again):
        self.columns = {k: columns(connection, t)
            for k, t in self.TABLES.items()}

        def read(key, where, params):
            names = ', '.join(f'x."{c}"' for c in ['id'] + self.columns[key])
            return connection.execute(
                f'SELECT {names} FROM {self.TABLES[key]} AS x '
                f'JOIN sale_point_sale AS s ON {where} '
                'WHERE s.point = %s AND s.feed_transaction LIKE %s '
                'ORDER BY x.id', params + (point, prefix + '-%')).fetchall()
        self.sales = read('sale', 's.id = x.id', ())
        self.lines = read('line', 's.id = x.sale', ())
        self.payments = read('payment', 's.id = x.sale', ())
        self.subsidies = read('subsidy', 's.id = x.point_sale', ())
        index = {k: {c: i + 1 for i, c in enumerate(self.columns[k])}
            for k in self.TABLES}
        self.index = index
        again_ = again + '-'
        for i, row in enumerate(self.sales):
            row = list(row)
            row[index['sale']['feed_transaction']] = again_ + row[
                index['sale']['feed_transaction']]
            row[index['sale']['number']] = again_ + row[
                index['sale']['number']]
            self.sales[i] = row

    def batches(self, size):
        "The rows by batch of size sales: (sales, lines, payments, subsidies)"
        children = {}
        for key, rows, column in [('line', self.lines, 'sale'),
                ('payment', self.payments, 'sale'),
                ('subsidy', self.subsidies, 'point_sale')]:
            by_sale = children[key] = {}
            for row in rows:
                by_sale.setdefault(row[self.index[key][column]], []).append(
                    row)
        for i in range(0, len(self.sales), size):
            sales = self.sales[i:i + size]
            yield sales, *[[r for s in sales for r in children[k].get(
                            s[0], [])] for k in ['line', 'payment',
                        'subsidy']]


def insert(cursor, table, names, rows):
    "A hand-written multi-row INSERT (ids given), 30,000 values a statement"
    if not rows:
        return
    width = len(names)
    per = max(1, 30_000 // width)
    quoted = ', '.join(f'"{n}"' for n in names)
    head = f'INSERT INTO {table} ({quoted}) VALUES '
    for i in range(0, len(rows), per):
        chunk = rows[i:i + per]
        values = ', '.join(['(' + ', '.join(['%s'] * width) + ')']
            * len(chunk))
        cursor.execute(head + values, [v for r in chunk for v in r])


def insert_feed(name, rows, batch):
    """Insert the rows again, batch by batch, each committed, ids from the
    tables' sequences; return the milliseconds"""
    import psycopg
    tables = Rows.TABLES
    total = 0
    with psycopg.connect(uri(name)) as connection:
        cursor = connection.cursor()
        for sales, lines, payments, subsidies in rows.batches(batch):
            start = time.perf_counter()

            def ids(key, count):
                cursor.execute(
                    f"SELECT nextval('{tables[key]}_id_seq') "
                    "FROM generate_series(1, %s)", (count,))
                return [i for i, in cursor.fetchall()]
            sale_ids = dict(zip((s[0] for s in sales), ids('sale',
                        len(sales))))
            line_ids = dict(zip((l[0] for l in lines), ids('line',
                        len(lines))))
            payment_ids = ids('payment', len(payments))
            subsidy_ids = ids('subsidy', len(subsidies))
            index = rows.index
            insert(cursor, tables['sale'], ['id'] + rows.columns['sale'],
                [[sale_ids[s[0]]] + list(s[1:]) for s in sales])

            def child(row, key, references):
                row = list(row)
                for column, mapping in references:
                    position = index[key][column]
                    if row[position] is not None:
                        row[position] = mapping[row[position]]
                return row[1:]
            insert(cursor, tables['line'], ['id'] + rows.columns['line'],
                [[line_ids[l[0]]] + child(l, 'line', [('sale', sale_ids)])
                    for l in lines])
            insert(cursor, tables['payment'],
                ['id'] + rows.columns['payment'],
                [[i] + child(p, 'payment', [('sale', sale_ids)])
                    for i, p in zip(payment_ids, payments)])
            insert(cursor, tables['subsidy'],
                ['id'] + rows.columns['subsidy'],
                [[i] + child(s, 'subsidy', [('point_sale', sale_ids),
                            ('point_line', line_ids)])
                    for i, s in zip(subsidy_ids, subsidies)])
            connection.commit()
            total += (time.perf_counter() - start) * 1000
    return total


def time_feed(name, refs, args):
    """The milliseconds of each round's feed and hand-written INSERT; the
    sales and rows per round"""
    import psycopg
    rng = random.Random(args.seed)
    device = Device(name, refs)
    log("warming the feed up with a batch of 20 sales (untimed)")
    warm = feed_entries(refs, 20, 'WARM', args.feed_members, rng)
    feed(device, warm, args.batch)
    times = {'feed': [], 'INSERT': []}
    counts = None
    for round_ in range(args.feed_repeat):
        prefix = f'R{round_}'
        entries = feed_entries(refs, args.feed_sales, prefix,
            args.feed_members, rng)
        log(f"round {round_ + 1}: feeding {len(entries):,} sales in "
            f"batches of {args.batch}")
        times['feed'].append(feed(device, entries, args.batch))
        check_feed(name, refs, prefix, entries)
        with psycopg.connect(uri(name)) as connection:
            rows = Rows(connection, refs.cabinet, prefix, 'SQL')
        counts = (len(rows.sales), len(rows.lines), len(rows.payments),
            len(rows.subsidies))
        log(f"round {round_ + 1}: inserting the same {counts[0]:,} sales, "
            f"{counts[1]:,} lines, {counts[2]:,} payments, {counts[3]:,} "
            "subsidy lines by hand")
        times['INSERT'].append(insert_feed(name, rows, args.batch))
        refuse_unless(execute(
                "SELECT count(*) FROM sale_point_sale WHERE point = %s "
                "AND feed_transaction LIKE %s", name,
                (refs.cabinet, f'SQL-{prefix}-%'))[0][0] == counts[0],
            "the hand-written INSERT did not insert every sale")
    return times, counts


# -- 3. the day's settlement

def generate_counters(name, refs, models, args):
    """--points copies of the counter with --sales-per-point copies a day
    of the model sales (one in five the member's) for --days days, set
    based; return the number of sales"""
    import psycopg
    day = refs.today
    pattern = NUMBER_PREFIX + '%'
    with psycopg.connect(uri(name), autocommit=True) as connection:
        def copy(table, overrides, source, where, params=()):
            names = columns(connection, table)
            values = ', '.join(overrides.get(c, f'm."{c}"') for c in names)
            start = time.perf_counter()
            connection.execute(
                f'INSERT INTO {table} '
                f'({", ".join(chr(34) + c + chr(34) for c in names)}) '
                f'SELECT {values} FROM {source} WHERE {where}', params)
            # The next statements join what was inserted: plan on its size
            connection.execute(f'ANALYZE {table}')
            log(f"    {table}: {time.perf_counter() - start:.0f} s")
        copy('sale_point', {
                'name': "%s::text || g.i",
                'feed_device': 'NULL',
                'host_fee_rate': '0.02',
                'create_date': 'now()',
                }, 'sale_point AS m, generate_series(1, %s) AS g(i)',
            'm.id = %s', (POINT_PREFIX, args.points, refs.counter))
        new_points = ('(SELECT p.id FROM sale_point AS p '
            'WHERE p.name LIKE %s)')
        sales = ('sale_point_sale AS m, generate_series(0, %s) AS d(d), '
            'generate_series(1, %s) AS i(i), ' + new_points + ' AS p')
        for model, members in [(models[0], False), (models[1], True)]:
            copy('sale_point_sale', {
                    'point': 'p.id',
                    'date': '%s::date - d.d',
                    'number': f"'{NUMBER_PREFIX}' || p.id || '-' || d.d "
                    "|| '-' || i.i",
                    'state': "CASE WHEN d.d = 0 THEN 'done' "
                    "ELSE 'posted' END",
                    'move': 'NULL',
                    'feed_transaction': 'NULL',
                    'feed_time': 'NULL',
                    'feed_exception': 'NULL',
                    'create_date': 'now()',
                    }, sales,
                'm.id = %s AND (i.i %% 5 = 0) = %s',
                (day, args.days - 1, args.sales_per_point,
                    POINT_PREFIX + '%', model, members))
        for table in ['sale_point_sale_line', 'sale_point_payment']:
            for model, member in [(models[0], 'NULL'),
                    (models[1], 'NOT NULL')]:
                copy(table, {'sale': 's.id', 'create_date': 'now()'},
                    f'sale_point_sale AS s, {table} AS m',
                    f'm.sale = %s AND s.number LIKE %s '
                    f'AND s.member IS {member}', (model, pattern))
        copy('relief_subsidy_line', {
                'point_sale': 's.id', 'point_line': 'l.id',
                'date': 's.date', 'create_date': 'now()',
                }, 'sale_point_sale AS s '
            'JOIN sale_point_sale_line AS l ON l.sale = s.id '
            'JOIN sale_point_sale_line AS ml ON ml.product = l.product '
            'JOIN relief_subsidy_line AS m ON m.point_line = ml.id',
            'ml.sale = %s AND s.number LIKE %s AND s.member IS NOT NULL',
            (models[1], pattern))
    execute('VACUUM ANALYZE', name)
    return execute(
        "SELECT count(*) FROM sale_point_sale WHERE number LIKE %s", name,
        (pattern,))[0][0]


BASELINE = (
    "SELECT s.point, count(DISTINCT s.id), "
    "sum(round(l.quantity::numeric * l.unit_gross_price, %s)) "
    "FROM sale_point_sale AS s "
    "JOIN sale_point_sale_line AS l ON l.sale = s.id "
    "WHERE s.state IN ('done', 'posted') AND s.date = %s "
    "GROUP BY s.point")


class Settlement:
    "The day's settlement of every counter, read four ways"

    def __init__(self, cfg, day):
        self.cfg, self.day = cfg, day

    def transaction(self):
        from trytond.transaction import Transaction
        return Transaction().start(self.cfg.database_name, self.cfg.user,
            readonly=True, context=self.cfg.context)

    def pool(self):
        from trytond.pool import Pool
        return Pool(self.cfg.database_name)

    def baseline(self):
        from trytond.transaction import Transaction
        cursor = Transaction().connection.cursor()
        digits = self.pool().get('company.company')(
            self.cfg.context['company']).currency.digits
        cursor.execute(BASELINE, (digits, self.day))
        return cursor.fetchall()

    def sql(self):
        "The table_query of the figures with the day's WHERE, every row"
        from sql import Column
        from trytond.transaction import Transaction
        Model = self.pool().get('relief.counter.settlement')
        query = Model.__table__()
        table = query.select(
            *[Column(query, f) for f in SETTLEMENT_FIELDS
                if f != 'host_fee'],
            where=Column(query, 'date') == self.day)
        cursor = Transaction().connection.cursor()
        cursor.execute(*table)
        return cursor.fetchall()

    def orm(self):
        Model = self.pool().get('relief.counter.settlement')
        return Model.search_read([('date', '=', self.day)],
            fields_names=SETTLEMENT_FIELDS)

    def views(self):
        pool = self.pool()
        return [pool.get(m).search_read([('date', '=', self.day)],
                fields_names=f) for m, f in VIEWS.items()]

    def check(self):
        "Problems where the figures do not add up as the baseline; counts"
        with self.transaction():
            baseline = {p: (c, t) for p, c, t in self.baseline()}
            sql = {r[0]: (r[3], r[4]) for r in self.sql()}
            orm = {r['point']: (r['sale_count'], r['sale_total'])
                for r in self.orm()}
            payments, subsidies, products = (
                len(v) for v in self.views()[1:])
        problems = []
        for label, figures in [('table_query', sql), ('ORM', orm)]:
            if figures != baseline:
                wrong = [(p, figures.get(p), baseline.get(p))
                    for p in set(figures) | set(baseline)
                    if figures.get(p) != baseline.get(p)]
                problems.append(f"{label}: {len(wrong)} counters differ, "
                    f"e.g. {wrong[:2]}")
        return problems, len(baseline), sum(
            t for _, t in baseline.values()), (payments, subsidies, products)


def time_settlement(settlement, args, rng):
    variants = {'baseline': settlement.baseline, 'sql': settlement.sql,
        'orm': settlement.orm, 'views': settlement.views}
    times = {v: [] for v in variants}
    order = list(variants)
    for round_ in range(args.settle_warmup + args.settle_repeat):
        rng.shuffle(order)
        for variant in order:
            with settlement.transaction():
                start = time.perf_counter()
                variants[variant]()
                ms = (time.perf_counter() - start) * 1000
            if round_ >= args.settle_warmup:
                times[variant].append(ms)
    return times


# -- the report

def row(label, values, ref=None, target=None, text=''):
    median = statistics.median(values)
    ratio = ''
    if ref is not None:
        value = median / statistics.median(ref)
        ratio = f'{value:.2f}'
        if target is not None:
            met = Decimal(str(value)) <= target
            text = f"{text}: {'met' if met else 'NOT met'}"
    print(f"{label:<34} {median:>10.1f} {p90(values):>9.1f} {ratio:>6}  "
        f"{text}", flush=True)


def header(title):
    print()
    print(title)
    line = f"{'variant':<34} {'median ms':>10} {'p90 ms':>9} {'ratio':>6}  "
    print(line + 'target')
    print('-' * (len(line) + 30))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=20,
        help="timed counter sales per variant (default: %(default)s)")
    parser.add_argument('--warmup', type=int, default=3,
        help="untimed counter sales per variant first (default: "
        "%(default)s)")
    parser.add_argument('--feed-sales', type=int, default=10_000,
        help="sales of the cabinet's feed (default: %(default)s; issue "
        "18 names 10000)")
    parser.add_argument('--batch', type=int, default=MAX_BATCH,
        help="sales a request of the feed (at most %(default)s)")
    parser.add_argument('--feed-members', type=float, default=0.2,
        help="the share of the feed's sales made by members (default: "
        "%(default)s)")
    parser.add_argument('--feed-repeat', type=int, default=1,
        help="timed feeds and INSERTs of --feed-sales (default: "
        "%(default)s)")
    parser.add_argument('--points', type=int, default=1_000,
        help="counters of the settlement (default: %(default)s)")
    parser.add_argument('--sales-per-point', type=int, default=20,
        help="sales a counter and day (default: %(default)s)")
    parser.add_argument('--days', type=int, default=7,
        help="days of sales, the last one settled (default: %(default)s)")
    parser.add_argument('--settle-repeat', type=int, default=5,
        help="timed readings of the settlement per variant (default: "
        "%(default)s)")
    parser.add_argument('--settle-warmup', type=int, default=1,
        help="untimed readings first (default: %(default)s)")
    args = parse_args(parser, "where the activated and set-up databases "
        "are kept as dumps")
    if not 0 < args.batch <= MAX_BATCH:
        parser.error(f"--batch must be 1 to {MAX_BATCH} (the route's limit)")
    started = time.monotonic()
    name = prepare(args)
    if 'trytond.tests.test_tryton' in sys.modules:
        # The set-up's test tools put trytond in its test mode (Pool.test:
        # function fields validated on every save, test models): time
        # production's work in a process of its own, from the dump
        drop([name])
        log("timing in a new process, from the set-up dump")
        os.execv(sys.executable, [sys.executable] + sys.argv)
    try:
        guarded(run, name, args, started)
    finally:
        drop([name])


def run(name, args, started):
    from proteus import config as pconfig
    cfg = pconfig.set_trytond(database=name)
    refs = references(cfg)
    refuse_unless(refs.device and refs.secret,
        "the cabinet has no device secret")

    log(f"making {args.warmup + args.repeat} counter sales per variant, "
        f"interleaved ({args.warmup} untimed first)")
    sale_times, sale_ids = time_sales(cfg, refs, args)
    check_sales(name, sale_ids)
    header(f"1. A counter sale of {len(SALE_LINES)} lines (made, subsidies, "
        f"paid in cash, processed, posted), {args.repeat} per variant")
    base = sale_times['no member']
    row('no member', base)
    row('member (member price, subsidies)', sale_times['member'], base,
        TARGETS['sale'], f"≤ {TARGETS['sale']} × no member")

    feed_times, counts = time_feed(name, refs, args)
    header(f"2. A cabinet's feed of {counts[0]:,} sales ({counts[1]:,} "
        f"lines, {counts[3]:,} subsidy lines), batches of {args.batch}, "
        f"{args.feed_repeat} round(s)")
    row('hand-written INSERT of the rows', feed_times['INSERT'])
    row('feed route (signed JSON)', feed_times['feed'],
        feed_times['INSERT'], TARGETS['feed'],
        f"≤ {TARGETS['feed']} × INSERT")
    per_sale = statistics.median(feed_times['feed']) / counts[0]
    print(f"    the feed: {per_sale:.2f} ms a sale, "
        f"{1000 / per_sale:.0f} sales a second")

    log(f"generating {args.points:,} counters with {args.sales_per_point} "
        f"sales a day for {args.days} days in SQL")
    start = time.perf_counter()
    models = (sale_ids['no member'][0], sale_ids['member'][0])
    sales = generate_counters(name, refs, models, args)
    log(f"    {sales:,} sales in {time.perf_counter() - start:.0f} s")
    settlement = Settlement(cfg, refs.today)
    problems, points, total, rows = settlement.check()
    refuse_unless(not problems, "the settlement does not add up as the "
        "baseline: " + '; '.join(problems))
    refuse_unless(points >= args.points, f"a settlement of {points} "
        f"counters, not {args.points}")
    times = time_settlement(settlement, args, random.Random(args.seed))
    header(f"3. The settlement of {points:,} counters on {refs.today} "
        f"({total:,.2f} in all; {rows[0]:,} payment, {rows[1]:,} subsidy, "
        f"{rows[2]:,} goods rows); {sales:,} sales over {args.days} days")
    row('baseline GROUP BY of the lines', times['baseline'])
    row('(b) table_query SQL, the day', times['sql'], times['baseline'],
        text="no target (issue 18 names none)")
    row('(a) ORM search_read, the day', times['orm'], times['baseline'],
        text="(for information)")
    row('(c) the four views, ORM', times['views'], times['baseline'],
        text="(for information)")
    print(f"Total time: {time.monotonic() - started:.0f} s")


if __name__ == '__main__':
    main()
