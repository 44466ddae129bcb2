# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The member mall API on scripts/serve: an order's cost; orders per second.

Run by scripts/bench (a throwaway cluster in TRYTOND_DATABASE_URI).  One
database with relief_mall activated, built as its scenario builds it
(relief_mall's test tools) with two more relief products, --members
members, two running programmes paying 20 % each of the whole catalogue
(budget without end, no member limit) and enough stock that nothing is
refused; served by scripts/serve (gunicorn, trytond-worker) as bench_load
serves its databases.

An order: 5 lines (4 relief products and a tea set, one unit each) of a
member, through the mall API as the app's server sends it: POST /quote,
POST /orders (Idempotency-Key), then the provider's signed POST
/payments/notify, which books the payment and processes the order (its
shipment; the shop invoices when the goods leave).

1. Cost, one client, one request at a time on --workers-cost gunicorn
   workers, interleaved with the baseline: the same order made over
   JSON-RPC as the web client makes it (a login session;
   model.sale.sale.create with its lines, quote, confirm, then read), its
   payment booked as the back office does (account.payment create with
   the order as origin, submit, the account.payment.process wizard,
   succeed; the order processed with its Process button, which makes its
   shipment: what the notification does in its request; both invoice
   when the goods leave, as the shop does).  No trytond-worker runs
   meanwhile (the processing confirm queues waits).
   Milliseconds (median, p95) and the server's CPU (gunicorn workers; the
   PostgreSQL backends beside) of the order, of the payment and of both,
   as a ratio to the baseline (target: at most 1.0).
2. Throughput: --clients clients making orders (quote, order, payment)
   for --seconds with 1, 2 and 4 gunicorn workers (--workers), each client
   for its own members: orders per second, p50 and p95 of an order, the
   errors (any request answered otherwise than 200/201).

The clients run on the same cores as the server: the figures are this
machine's, under its other load.  Prints no figures, and exits non-zero,
when the work is not the work named (an error answered, an order not
processed with its shipment, its payment and its subsidy lines, the
baseline's order not the same)."""
import argparse
import datetime as dt
import hashlib
import hmac
import json
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from bench_certification import (  # noqa: E402
    create_database, drop, execute, guarded, log, parse_args, refuse_unless)
from bench_load import (  # noqa: E402
    PASSWORD, TICK, Client, Failed, Server, cpu, pct, postmaster, tree)

STOCK = 10_000_000
BUDGET = Decimal('1000000000')
PROGRAMS = ["中秋会员补贴", "专项经费会员补贴"]
# The order's products (4 relief products and the tea set)
PRODUCTS = ['kiwi', 'walnut', 'tea_set', 'apple', 'honey']


# -- the database

def build(name, members):
    """The mall of the scenario with five products in stock, two running
    programmes and members SN-0001...; return what the clients need"""
    from proteus import Model, Wizard
    from proteus import config as pconfig
    from trytond.modules.account.tests.tools import create_chart
    from trytond.modules.company.tests.tools import create_company
    from trytond.modules.relief_mall.tests.tools import set_up
    from trytond.modules.relief_subsidy.tests.tools import run_program

    cfg = pconfig.set_trytond(database=name)
    User = Model.get('res.user')
    admin = User(cfg.user)
    admin.password = PASSWORD
    admin.save()
    today = dt.date.today()
    create_company()
    create_chart()
    # The shop speaks Chinese, as in the scenario
    zh, = Model.get('ir.lang').find([('code', '=', 'zh_CN')])
    zh.click('load_translations')
    s = set_up(today, stock={p: STOCK for p in PRODUCTS[:3]})
    s.apple = listed(s, "洛川红富士苹果礼盒", '58', '6101240003')
    s.honey = listed(s, "秦岭土蜂蜜", '45', '6101240004')
    inventory = Model.get('stock.inventory')(
        location=s.warehouse.storage_location, date=today)
    for product in [s.apple, s.honey]:
        inventory.lines.new(product=product, quantity=STOCK)
    inventory.click('confirm')
    for product in [s.apple, s.honey]:
        s.shop.products.append(Model.get('product.product')(product.id))
    s.shop.save()
    for program in PROGRAMS:
        run_program(s, program, BUDGET, today)
    numbers = ['SN-0001', 'SN-0002', 'SN-0003']
    for i in range(len(numbers), members):
        numbers.append(f'SN-{i + 1:04d}')
        s.member(f"会员{i + 1:04d}", s.school, numbers[-1])
    create_key = Wizard('relief.mall.key.create', [s.shop])
    create_key.form.name = "bench_mall"
    create_key.execute('create_')
    from trytond.modules.relief_mall.tests.tools import PAYMENT_SECRET
    return {
        'key': create_key.form.token,
        'secret': PAYMENT_SECRET,
        'members': numbers[:members],
        'products': [getattr(s, p).id for p in PRODUCTS],
        'journal': s.payment_journal.id,
        }


def listed(s, name, price, number):
    "A relief product of the scenario's supplier, certified and listed"
    from proteus import Model
    product = s.product(name, price, relief=True, category=s.fruit)
    Model.get('relief.product.certification')(
        template=product.template, supplier=s.supplier,
        catalogue_number=number, valid_from=s.certified_from,
        valid_to=s.today + dt.timedelta(days=700)).click('certify')
    entry = Model.get('relief.catalogue.entry')(template=product.template)
    entry.listed = s.certified_from
    entry.click('list_')
    return product


# -- the clients

class Mall:
    "The app's server calling the mall API over HTTP"

    def __init__(self, url, database, work):
        self.prefix = f'{url}{database}/relief/mall/v1'
        self.key, self.secret = work['key'], work['secret']
        self.lines = [{'product': p, 'quantity': 1}
            for p in work['products']]

    def post(self, path, body, headers, expect):
        request = urllib.request.Request(self.prefix + path,
            data=json.dumps(body).encode() if isinstance(body, dict)
            else body, headers={'Content-Type': 'application/json',
                **headers})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status, answer = response.status, json.load(response)
        except urllib.error.HTTPError as error:
            status, answer = error.code, error.read()[:300].decode(
                errors='replace')
        except OSError as error:
            raise Failed(f"POST {path}: {error}") from error
        if status not in expect:
            raise Failed(f"POST {path}: HTTP {status} {answer}")
        return answer

    def order(self, member):
        "Quote and place a 5-line order of member; return it"
        return self.place(member, self.quote(member))

    def quote(self, member):
        return self.post('/quote', {'member': member, 'lines': self.lines},
            {'Authorization': f'Bearer {self.key}'}, {200})

    def place(self, member, quote):
        from trytond.modules.relief_mall.tests.tools import address
        placed = self.post('/orders', {'member': member,
                'lines': self.lines, 'address': address()},
            {'Authorization': f'Bearer {self.key}',
                'Idempotency-Key': uuid.uuid4().hex}, {201})
        if (placed['status'] != 'awaiting_payment'
                or placed['member_pays'] != quote['member_pays']):
            raise Failed(f"POST /orders: {placed['status']}, pays "
                f"{placed['member_pays']} (quoted {quote['member_pays']})")
        return placed

    def pay(self, placed):
        "The provider's signed notification of the order's payment"
        body = json.dumps({'order': placed['number'],
                'transaction': uuid.uuid4().hex,
                'amount': placed['member_pays']}).encode()
        signature = hmac.new(self.secret.encode(), body,
            hashlib.sha256).hexdigest()
        paid = self.post('/payments/notify', body,
            {'X-Payment-Signature': signature}, {200})
        if paid['status'] != 'paid':
            raise Failed(f"POST /payments/notify: {paid['status']}")
        return placed['number']


def decimal(value):
    return {'__class__': 'Decimal', 'decimal': str(value)}


class BackOffice(Client):
    "The same order made over JSON-RPC, and its payment booked"

    def __init__(self, url, database, work, placed):
        """The back office, making the order placed through the API
        again: its member, address, products and prices"""
        super().__init__(url, database)
        member = placed['member']
        sale, = self.call('model.sale.sale.search',
            [('number', '=', placed['number'])], 0, 1, None, self.context)
        # the shop's: invoiced when the goods leave
        self.invoice_method = self.call('model.sale.sale.read', [sale],
            ['invoice_method'], self.context)[0]['invoice_method']
        self.journal = work['journal']
        self.party, = self.call('model.party.party.search',
            [('member_number', '=', member)], 0, 1, None, self.context)
        # the address the mall's order gave the member
        self.address, = self.call('model.party.address.search',
            [('party', '=', self.party)], 0, 1, [('id', 'DESC')],
            self.context)
        units = {p['id']: p['sale_uom'] for p in self.call(
                'model.product.product.read', work['products'],
                ['sale_uom'], self.context)}
        self.lines = [{'type': 'line', 'product': l['product'],
                'quantity': l['quantity'], 'unit': units[l['product']],
                'unit_price': decimal(l['full_unit_price'])}
            for l in placed['lines']]

    def order(self):
        "Create, quote and confirm the order as the web client does"
        sale, = self.call('model.sale.sale.create', [{
                    'party': self.party,
                    'invoice_address': self.address,
                    'shipment_address': self.address,
                    'invoice_method': self.invoice_method,
                    'lines': [('create', self.lines)],
                    }], self.context)
        self.call('model.sale.sale.quote', [sale], self.context)
        self.call('model.sale.sale.confirm', [sale], self.context)
        record, = self.call('model.sale.sale.read', [sale],
            ['total_amount', 'company', 'state'], self.context)
        return record

    def pay(self, sale):
        "Book the payment of sale and process it"
        today = dt.date.today()
        payment, = self.call('model.account.payment.create', [{
                    'company': sale['company'], 'journal': self.journal,
                    'kind': 'receivable', 'party': self.party,
                    'amount': sale['total_amount'],
                    'date': {'__class__': 'date', 'year': today.year,
                        'month': today.month, 'day': today.day},
                    'origin': f"sale.sale,{sale['id']}",
                    }], self.context)
        self.call('model.account.payment.submit', [payment], self.context)
        self.wizard('account.payment.process', 'process', payment)
        self.call('model.account.payment.succeed', [payment], self.context)
        # What notify does in its request: trytond-worker would, later
        self.call('model.sale.sale.process', [sale['id']], self.context)
        return sale['id']

    def wizard(self, name, state, record):
        "Run wizard name's state on the record, as the client runs it"
        session, _, _ = self.call(f'wizard.{name}.create', self.context)
        context = dict(self.context, active_model='account.payment',
            active_id=record, active_ids=[record])
        self.call(f'wizard.{name}.execute', session, {}, state, context)
        self.call(f'wizard.{name}.delete', session, context)


# -- the measures

def timed(server, call, cost, key):
    "Call call() and add its ms, gunicorn CPU s and DB CPU s to cost[key]"
    workers, pg = server.gunicorn_pids(), postmaster()
    backends = tree(pg)[1:]
    before = cpu(workers), cpu(backends)
    start = time.perf_counter()
    result = call()
    ms = (time.perf_counter() - start) * 1000
    # a backend started meanwhile counts in full
    after = cpu(workers), cpu(set(backends) | set(tree(pg)[1:]))
    times, wcpu, pcpu = cost.setdefault(key, ([], 0.0, 0.0))
    times.append(ms)
    cost[key] = (times, wcpu + after[0] - before[0],
        pcpu + after[1] - before[1])
    return result


def measure_costs(server, name, work, args):
    """args.repeat orders each way, one after the other, interleaved;
    {kind: (ms list, gunicorn CPU s, postgres CPU s)} and the orders made
    (numbers through the API, ids over RPC)"""
    member = work['members'][0]
    mall = Mall(server.url, name, work)
    placed = mall.order(member)  # warm, and the member's address
    mall.pay(placed)
    office = BackOffice(server.url, name, work, placed)
    sale = office.order()
    office.pay(sale)
    pays = Decimal(sale['total_amount']['decimal'])
    refuse_unless(pays == Decimal(placed['member_pays']),
        f"the member pays {pays} over RPC, {placed['member_pays']} through "
        "the API: not the same order")
    costs, made = {}, {'api': [], 'rpc': []}
    for _ in range(args.repeat):
        quote = timed(server, lambda: mall.quote(member), costs,
            ('api', 'quote'))
        placed = timed(server, lambda: mall.place(member, quote), costs,
            ('api', 'place'))
        made['api'].append(timed(server, lambda: mall.pay(placed), costs,
                ('api', 'payment')))
        sale = timed(server, office.order, costs, ('rpc', 'order'))
        made['rpc'].append(timed(server, lambda: office.pay(sale), costs,
                ('rpc', 'payment')))
    costs['api', 'order'] = add(costs['api', 'quote'], costs['api', 'place'])
    for way in ['api', 'rpc']:
        costs[way, 'both'] = add(costs[way, 'order'], costs[way, 'payment'])
    return costs, made


def add(cost, other):
    "The cost of two requests one after the other, from theirs"
    return ([a + b for a, b in zip(cost[0], other[0])], cost[1] + other[1],
        cost[2] + other[2])


def drain(name, timeout=600):
    """Wait until trytond-worker has done the tasks due (those the costs
    queued), so that a throughput run's queue CPU is its own"""
    deadline = time.monotonic() + timeout
    while execute("SELECT count(*) FROM ir_queue WHERE finished_at IS NULL "
            "AND (scheduled_at IS NULL OR scheduled_at <= now())",
            name)[0][0]:
        refuse_unless(time.monotonic() < deadline,
            "trytond-worker did not finish the queued tasks")
        time.sleep(1)


def measure_throughput(server, name, work, args):
    """args.clients clients make orders for args.seconds; return the
    orders per second, the latencies (ms), the errors, the order numbers
    and the CPU s of the gunicorn workers, trytond-worker and PostgreSQL"""
    lock = threading.Lock()
    latencies, errors, done = [], [], []
    members = work['members']
    deadline = time.monotonic() + args.seconds

    def run(index):
        mall = Mall(server.url, name, work)
        # each client its own members, in turn
        mine = members[index::args.clients] or [
            members[index % len(members)]]
        turn = 0
        while time.monotonic() < deadline:
            member = mine[turn % len(mine)]
            turn += 1
            start = time.perf_counter()
            try:
                number = mall.pay(mall.order(member))
            except Failed as error:
                with lock:
                    errors.append(str(error))
                continue
            with lock:
                latencies.append((time.perf_counter() - start) * 1000)
                done.append(number)
    workers, pg = server.gunicorn_pids(), postmaster()
    queue = server.worker_pids()
    before = cpu(workers), cpu(queue), cpu(tree(pg)[1:])
    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,))
        for i in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    used = (cpu(workers) - before[0], cpu(server.worker_pids()) - before[1],
        cpu(tree(pg)[1:]) - before[2])
    return len(latencies) / elapsed, latencies, errors, done, used


def check_orders(name, numbers=(), ids=()):
    """Refuse unless each order is processed (its shipment made), paid by
    a succeeded payment of its total and each of its lines subsidised by
    both programmes"""
    rows = execute("SELECT s.state, s.shipment_state, "
        "(SELECT count(*) FROM relief_subsidy_line l WHERE l.sale = s.id "
        "AND l.state = 'confirmed'), "
        "(SELECT sum(p.amount) FROM account_payment p "
        "WHERE p.origin = 'sale.sale,' || s.id AND p.kind = 'receivable' "
        "AND p.state = 'succeeded') = s.total_amount_cache "
        "FROM sale_sale s WHERE s.number = ANY(%s) OR s.id = ANY(%s)",
        name, (list(numbers), list(ids)))
    refuse_unless(len(rows) == len(numbers) + len(ids),
        f"{len(rows)} orders found of {len(numbers) + len(ids)}")
    expected = len(PRODUCTS) * len(PROGRAMS)
    wrong = [r for r in rows if r[0] not in {'processing', 'done'}
        or r[1] not in {'waiting', 'sent'} or r[2] != expected or not r[3]]
    refuse_unless(not wrong, f"{len(wrong)} orders not processed with "
        f"their shipment, {expected} subsidy lines and paid, e.g. (state, "
        f"shipment state, subsidy lines, paid) {wrong[:1]}")


# -- the report

def report_costs(costs, workers, repeat):
    print()
    print(f"Cost of a 5-line member order, 2 programmes: one client, one "
        f"request at a time, {workers} gunicorn worker(s), {repeat} each, "
        "interleaved")
    header = (f"{'':<30} {'median ms':>9} {'p95 ms':>7} {'ratio':>6} "
        f"{'CPU ms':>7} {'ratio':>6} {'DB CPU ms':>9} {'ratio':>6}")
    print(header)
    print('-' * len(header))
    names = {
        'order': ("API: POST /quote + /orders", "RPC: create+quote+confirm"),
        'quote': ("API:   of which POST /quote", None),
        'place': ("API:   of which POST /orders", None),
        'payment': ("API: POST /payments/notify", "RPC: book payment, process"),
        'both': ("API: the whole order", "RPC: the whole order"),
        }
    for step, (api, rpc) in names.items():
        # the parts of the API's order beside the whole RPC order
        base = costs['rpc', 'order' if rpc is None else step]
        rows = [(rpc, base)] if rpc else []
        for label, (times, wcpu, pcpu) in rows + [(api, costs['api', step])]:
            median = statistics.median(times)

            def ratio(value, of):
                return f"{value / of:>6.2f}" if of else f"{'—':>6}"
            print(f"{label:<30} {median:>9.1f} {pct(times, 0.95):>7.1f} "
                f"{ratio(median, statistics.median(base[0]))} "
                f"{wcpu / repeat * 1000:>7.1f} {ratio(wcpu, base[1])} "
                f"{pcpu / repeat * 1000:>9.1f} {ratio(pcpu, base[2])}")
    print("(ratio: API to the RPC baseline, target ≤ 1.00, the rows "
        "'of which' to the whole RPC create+quote+confirm; RPC booking: "
        "account.payment create, submit, the process wizard, succeed, "
        "sale.sale process (its shipment), as notify does; no "
        "trytond-worker; CPU ms: the gunicorn workers' "
        f"user+system time per order, from /proc, {1000 / TICK:.0f} ms "
        "ticks; DB CPU ms: the PostgreSQL backends')")


def report_throughput(throughput, args):
    print()
    print(f"Member orders through the API (quote, order, payment "
        f"notification; 5 lines, 2 programmes), {args.clients} clients, "
        f"{args.seconds} s per run, trytond-worker processing meanwhile")
    header = (f"{'workers':>7} {'orders/s':>9} {'ratio':>6} {'orders':>7} "
        f"{'errors':>6} {'p50 ms':>7} {'p95 ms':>7}  CPU ms/order: "
        f"{'gunicorn':>8} {'queue':>6} {'DB':>6}")
    print(header)
    print('-' * len(header))
    first = args.workers[0]
    base = throughput[first][0] if first in throughput else None
    for workers, result in throughput.items():
        rate, latencies, errors, _, used = result
        ratio = f"{rate / base:>6.2f}" if base else f"{'—':>6}"
        per = [u / max(len(latencies), 1) * 1000 for u in used]
        p50, p95 = ((pct(latencies, 0.5), pct(latencies, 0.95))
            if latencies else (0, 0))
        print(f"{workers:>7} {rate:>9.2f} {ratio} {len(latencies):>7} "
            f"{len(errors):>6} {p50:>7.0f} {p95:>7.0f}  {'':>13} "
            f"{per[0]:>8.1f} {per[1]:>6.1f} {per[2]:>6.1f}")
    print(f"(ratio: to {first} worker(s); an order: its three requests, "
        "each client for its own members; errors: requests answered "
        "otherwise than 200/201, must be 0; queue: trytond-worker; DB: the "
        f"PostgreSQL backends; {os.cpu_count()} cores shared by the "
        "clients, gunicorn, trytond-worker and PostgreSQL)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=20,
        help="orders each way for the costs (default: %(default)s)")
    parser.add_argument('--seconds', type=int, default=60,
        help="seconds of each throughput run (default: %(default)s)")
    parser.add_argument('--clients', type=int, default=16,
        help="concurrent clients of the throughput (default: %(default)s)")
    parser.add_argument('--workers', default='1,2,4',
        help="gunicorn workers of the throughput runs, the first the "
        "baseline (default: %(default)s)")
    parser.add_argument('--workers-cost', type=int, default=2,
        help="gunicorn workers while measuring costs (default: "
        "%(default)s)")
    parser.add_argument('--members', type=int, default=32,
        help="members ordering (default: %(default)s)")
    args = parse_args(parser)
    args.workers = [int(w) for w in args.workers.split(',')]
    started = time.monotonic()
    name = f'relief_bench_mall_{os.getpid()}'
    try:
        create_database(name, args.cache, 'relief_mall')
        guarded(run, name, args, started)
    finally:
        drop([name])


def run(name, args, started):
    log("building the mall as its scenario does, 5 products, 2 programmes")
    work = build(name, args.members)
    from trytond import backend
    backend.Database(name).close()
    log(f"costs: scripts/serve, {args.workers_cost} workers")
    # No trytond-worker: the requests' whole cost (confirm's processing
    # runs in its request)
    with Server([name], args.workers_cost, queue=False) as server:
        costs, made = measure_costs(server, name, work, args)
    check_orders(name, numbers=made['api'])
    check_orders(name, ids=made['rpc'])
    report_costs(costs, args.workers_cost, args.repeat)

    throughput = {}
    for workers in args.workers:
        log(f"throughput: scripts/serve, {workers} workers, "
            f"{args.clients} clients")
        with Server([name], workers) as server:
            drain(name)
            throughput[workers] = measure_throughput(server, name, work,
                args)
        rate, _, errors, done, _ = throughput[workers]
        log(f"{rate:.2f} orders/s, {len(errors)} errors")
    report_throughput(throughput, args)
    print(f"\n({time.monotonic() - started:.0f} s in all)")
    errors = [e for r in throughput.values() for e in r[2]]
    refuse_unless(not errors, f"{len(errors)} failed requests, e.g. "
        f"{errors[0] if errors else ''}")
    for workers, result in throughput.items():
        refuse_unless(result[3], f"{workers} workers: no order made")
        check_orders(name, numbers=result[3])


if __name__ == '__main__':
    main()
