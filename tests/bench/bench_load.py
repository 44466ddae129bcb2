# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Load on the production shape: costs of a request and throughput.

Run by scripts/bench (a throwaway cluster in TRYTOND_DATABASE_URI).  Two
databases served together by scripts/serve (gunicorn, trytond-worker;
both databases preloaded by every worker, TRYTOND_DATABASE_NAMES), as a
database per province would be:

- relief_subsidy activated and built as tests/test_race_http.py builds
  it (the relief_subsidy test tools): three members, kiwis under a
  programme paying 20 %, walnuts from a certified supplier with a purchase
  cap; --orders draft member orders (copied in SQL) and quoted purchases;
- the trace database of bench_trace.py, small (--trace-moves done moves).

1. Cost, one client, requests one after the other on --workers-cost
   gunicorn workers, interleaved with the baseline, a JSON-RPC
   common.server.version on the same server: milliseconds per request (median,
   p95) and the server's CPU per request (gunicorn workers, read from
   /proc; PostgreSQL's backends beside) of a member order (quote and
   confirm: the subsidy and the programme's budget), a purchase
   confirmation (the certification and the cap), the public trace page
   of one lot (kept rendered) and of a lot not rendered yet.
2. Throughput: --clients clients confirming member orders for --seconds
   with 1, 2 and 4 gunicorn workers (--workers): orders per second, p50
   and p95 of an order, beside 1 worker.

The clients run on the same cores as the server, and trytond-worker
processes the confirmed orders meanwhile: the figures are this machine's,
under its other load.  Prints no ratio, and exits non-zero, when the work
is not done (an RPC error, a status other than 200, no order confirmed, an
order confirmed without its subsidy line)."""
import argparse
import base64
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from bench_certification import (  # noqa: E402
    ROOT, NotMeasured, create_database, drop, execute, guarded, log,
    parse_args, refuse_unless, uri)

PASSWORD = "Bench-load-Xk29-festival"
PROGRAM = "中秋会员补贴"
SUPPLIER = "洛南县核桃专业合作社"
PRICE = Decimal('50.00')
TICK = os.sysconf('SC_CLK_TCK')
# The cluster's URI (proteus writes a database's name into the variable)
BASE_URI = os.environ.get('TRYTOND_DATABASE_URI', '')


# -- the databases

def build_orders(name, orders, purchases):
    """The race test's programme and supplier; return the ids of the draft
    orders (copied in SQL) and of the quoted purchases"""
    from proteus import Model
    from proteus import config as pconfig
    from trytond.modules.account.tests.tools import create_chart
    from trytond.modules.company.tests.tools import create_company
    from trytond.modules.relief_subsidy.tests.tools import (
        run_program, sell, set_up)

    cfg = pconfig.set_trytond(database=name)
    User = Model.get('res.user')
    admin = User(cfg.user)
    admin.password = PASSWORD
    admin.save()
    today = dt.date.today()
    create_company()
    create_chart()
    s = set_up(today)
    run_program(s, PROGRAM, Decimal('100000000'), today, s.kiwi)
    models = [sell(m, (s.kiwi, 1), payment_term=s.payment_term)
        for m in [s.zhang, s.li, s.wang]]
    order_ids = copy_sales(name, [m.id for m in models], orders)
    return order_ids, quoted_purchases(cfg, s, today, purchases)


def quoted_purchases(cfg, s, today, count):
    "count quoted purchases of a box of walnuts from a capped supplier"
    from proteus import Model
    from bench_certification import copies
    template = s.walnut.template
    template.purchasable = True
    template.save()
    supplier = Model.get('party.party')(name=SUPPLIER)
    supplier.save()
    certification = Model.get('relief.supplier.certification')(
        supplier=supplier, county=s.area('611021'),
        office="洛南县扶贫开发办公室", number="611021-001",
        poor_people=100_000, cap_amount=PRICE * 100_000,
        valid_from=today.replace(year=today.year - 1, month=1, day=1),
        valid_to=today + dt.timedelta(days=700))
    certification.click('certify')
    Model.get('relief.product.certification')(template=template,
        supplier=supplier, supplier_certification=certification,
        catalogue_number="6110210001",
        valid_from=certification.valid_from,
        valid_to=certification.valid_to).click('certify')
    purchase = Model.get('purchase.purchase')(party=supplier,
        payment_term=s.payment_term)
    line = purchase.lines.new(product=s.walnut)
    line.quantity = 1
    line.unit_price = PRICE
    purchase.save()
    ids = copies(cfg, 'purchase.purchase', purchase.id, count)
    cfg.get_proxy('purchase.purchase').quote(ids, cfg.context)
    return ids


def copy_sales(name, models, count):
    "count draft copies of the model sales (taken in turn), set-based"
    import psycopg
    with psycopg.connect(uri(name)) as connection:
        def columns(table):
            return [c for c, in connection.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = %s AND column_name != 'id' "
                    "ORDER BY ordinal_position", (table,))]
        first, = connection.execute(
            "SELECT COALESCE(max(id), 0) + 10 FROM sale_sale").fetchone()
        names = columns('sale_sale')
        values = ', '.join({'create_date': 'now()'}.get(c, f's."{c}"')
            for c in names)
        connection.execute(
            f'INSERT INTO sale_sale (id, '
            + ', '.join(f'"{c}"' for c in names)
            + f') SELECT %s + g.i, {values} FROM sale_sale s, '
            'generate_series(0, %s - 1) g(i) '
            'WHERE s.id = (%s::integer[])[1 + g.i %% %s]',
            (first, count, models, len(models)))
        names = columns('sale_line')
        values = ', '.join({'sale': '%s + g.i', 'create_date': 'now()'}.get(
                c, f'l."{c}"') for c in names)
        connection.execute(
            'INSERT INTO sale_line (' + ', '.join(f'"{c}"' for c in names)
            + f') SELECT {values} FROM sale_line l, '
            'generate_series(0, %s - 1) g(i) '
            'WHERE l.sale = (%s::integer[])[1 + g.i %% %s]',
            (first, count, models, len(models)))
        for table in ['sale_sale', 'sale_line']:
            connection.execute(f"SELECT setval('{table}_id_seq', "
                f"(SELECT max(id) FROM {table}))")
        connection.commit()
    execute('ANALYZE', name)
    return list(range(first, first + count))


def build_trace(args):
    "bench_trace's database, small; return its name and two trace URLs"
    import bench_trace
    trace_args = argparse.Namespace(cache=args.cache,
        moves=args.trace_moves, lots=args.trace_moves // 10,
        hot=max(args.trace_moves // 400, 1))
    name = bench_trace.prepare(trace_args)
    return name, bench_trace._codes(name)['kiwi'], bench_trace._cold_codes(
        name, args.repeat * 2)


# -- the server and its processes

def cpu(pids):
    "CPU seconds (user + system) of the processes pids"
    total = 0
    for pid in pids:
        try:
            stat = Path(f'/proc/{pid}/stat').read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(')') + 2:].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def postmaster():
    "The pid of the cluster's postmaster (None if it cannot be read)"
    directory, = execute('SHOW data_directory')[0]
    try:
        return int(Path(directory, 'postmaster.pid').read_text().split()[0])
    except OSError:
        return None


def tree(pid):
    "pid and its descendants"
    from dbtools import children
    result = [pid] if pid else []
    for child in children(pid) if pid else []:
        result += tree(child)
    return result


class Server:
    "scripts/serve on the databases with n gunicorn workers"

    def __init__(self, databases, workers, queue=True):
        from dbtools import free_port
        self.databases, self.workers = databases, workers
        self.queue = queue
        self.url = f'http://127.0.0.1:{free_port()}/'
        self.logs = ROOT / 'var' / 'bench-load'

    def __enter__(self):
        self.logs.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, TRYTOND_DATABASE__URI=BASE_URI,
            TRYTOND_DATABASE_URI=BASE_URI)
        for variable in ['TRYTOND_CONFIG', 'TRYTOND_DATABASE_NAMES']:
            env.pop(variable, None)
        bind = self.url.split('/')[2]
        with (self.logs / 'serve.log').open('w') as output:
            self.process = subprocess.Popen([str(ROOT / 'scripts' / 'serve'),
                    '--workers', str(self.workers), '--bind', bind,
                    '--no-cron', '--log-dir', str(self.logs),
                    *([] if self.queue else ['--no-worker']),
                    *self.databases], cwd=ROOT, env=env, stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 180
        while not self.ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise NotMeasured("scripts/serve did not answer (see "
                    "var/bench-load/serve.log and gunicorn.log)")
            time.sleep(0.5)
        return self

    def ready(self):
        "Every worker answers (each has loaded the pools)"
        from dbtools import children, service
        gunicorn = service(self.process.pid, 'gunicorn')
        if not gunicorn or len(children(gunicorn)) < self.workers:
            return False
        try:
            urllib.request.urlopen(self.url + 'health', timeout=5).close()
            return True
        except OSError:
            return False

    def gunicorn_pids(self):
        from dbtools import children, service
        return children(service(self.process.pid, 'gunicorn') or -1)

    def worker_pids(self):
        "trytond-worker and its task processes"
        from dbtools import service
        return tree(service(self.process.pid, 'trytond-worker'))

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait()


class Failed(NotMeasured):
    "A request whose work was not done: RPC error or another status"


class Client:
    "A JSON-RPC session"

    def __init__(self, url, database):
        self.base, self.url = url, f'{url}{database}/rpc/'
        self.authorization = None
        user, session = self.call('common.db.login', 'admin',
            {'password': PASSWORD}, 'en')[:2]
        token = base64.b64encode(f'admin:{user}:{session}'.encode())
        self.authorization = f'Session {token.decode()}'
        self.context = self.call('model.res.user.get_preferences', True, {})

    def call(self, method, *params, url=None):
        request = urllib.request.Request(url or self.url,
            data=json.dumps({'id': 1, 'method': method,
                    'params': list(params)}).encode(),
            headers={'Content-Type': 'application/json'})
        if self.authorization:
            request.add_header('Authorization', self.authorization)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as error:
            raise Failed(f"{method}: HTTP {error.code}") from error
        except OSError as error:
            raise Failed(f"{method}: {error}") from error
        if 'error' in answer:
            raise Failed(f"{method}: {str(answer['error'])[:300]}")
        return answer['result']

    def version(self):
        return self.call('common.server.version', url=self.base + 'rpc/')

    def order(self, sale):
        self.call('model.sale.sale.quote', [sale], self.context)
        self.call('model.sale.sale.confirm', [sale], self.context)

    def purchase(self, purchase):
        self.call('model.purchase.purchase.confirm', [purchase],
            self.context)


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError as error:
        raise Failed(f"GET {url}: {error}") from error
    if status != 200:
        raise Failed(f"GET {url}: HTTP {status}")


# -- the measures

def pct(values, q):
    values = sorted(values)
    return values[min(int(len(values) * q), len(values) - 1)]


def measure_costs(server, names, work, args):
    """Each kind of request args.repeat times, one after the other,
    interleaved with common.server.version; {kind: (ms list, gunicorn CPU s,
    postgres CPU s)}"""
    client = Client(server.url, names['orders'])
    trace = f"{server.url}{names['trace']}/relief/trace/t/"
    orders, purchases = iter(work['orders']), iter(work['purchases'])
    cold = iter(work['cold'])
    kinds = {
        'common.server.version (base)': client.version,
        'member order (quote+confirm)': lambda: client.order(next(orders)),
        'purchase confirmation (cap)':
            lambda: client.purchase(next(purchases)),
        'trace page, rendered': lambda: get(trace + work['lot']),
        'trace page, not yet rendered': lambda: get(trace + next(cold)),
        }
    for kind, call in kinds.items():  # warm every path once
        call()
    results = {k: ([], 0.0, 0.0) for k in kinds}
    workers, pg = server.gunicorn_pids(), postmaster()
    for _ in range(args.repeat):
        for kind, call in kinds.items():
            backends = tree(pg)[1:]
            before = cpu(workers), cpu(backends)
            start = time.perf_counter()
            call()
            ms = (time.perf_counter() - start) * 1000
            # a backend started meanwhile counts in full
            after = cpu(workers), cpu(set(backends) | set(tree(pg)[1:]))
            times, wcpu, pcpu = results[kind]
            times.append(ms)
            results[kind] = (times, wcpu + after[0] - before[0],
                pcpu + after[1] - before[1])
    return results


def measure_throughput(server, name, orders, args):
    """args.clients clients confirm orders for args.seconds; return the
    orders per second, the latencies (ms), the orders confirmed and the
    CPU s of the gunicorn workers, trytond-worker and PostgreSQL"""
    taken = iter(orders)
    lock = threading.Lock()
    latencies, errors, done = [], [], []
    clients = [Client(server.url, name) for _ in range(args.clients)]
    deadline = time.monotonic() + args.seconds

    def run(client):
        while time.monotonic() < deadline and not errors:
            with lock:
                sale = next(taken, None)
            if sale is None:
                errors.append("out of draft orders: raise --orders")
                return
            start = time.perf_counter()
            try:
                client.order(sale)
            except Failed as error:
                errors.append(str(error))
                return
            with lock:
                latencies.append((time.perf_counter() - start) * 1000)
                done.append(sale)
    workers, pg = server.gunicorn_pids(), postmaster()
    queue = server.worker_pids()
    before = cpu(workers), cpu(queue), cpu(tree(pg)[1:])
    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    # trytond-worker's share: what it did while the orders came in
    used = (cpu(workers) - before[0], cpu(server.worker_pids()) - before[1],
        cpu(tree(pg)[1:]) - before[2])
    refuse_unless(not errors, f"{len(errors)} failed orders, e.g. "
        f"{errors[0] if errors else ''}")
    refuse_unless(latencies, "no order confirmed")
    return len(latencies) / elapsed, latencies, done, used


def check_done(name, orders):
    """Refuse unless each order counted is confirmed (or processed) with a
    subsidy line"""
    rows = execute("SELECT s.state, count(DISTINCT s.id), count(l.id) "
        "FROM sale_sale s LEFT JOIN relief_subsidy_line l ON l.sale = s.id "
        "WHERE s.id = ANY(%s) GROUP BY s.state", name, (orders,))
    states = {r[0]: r[1] for r in rows}
    lines = sum(r[2] for r in rows)
    refuse_unless(set(states) <= {'confirmed', 'processing', 'done'}
        and sum(states.values()) == len(orders),
        f"the orders timed are not all confirmed: {states}")
    refuse_unless(lines == len(orders),
        f"{lines} subsidy lines for {len(orders)} orders")


def report_costs(results, workers, repeat):
    print()
    print(f"Cost of a request: one client, one request at a time, "
        f"{workers} gunicorn worker(s), {repeat} each, interleaved")
    header = (f"{'request':<30} {'median ms':>9} {'p95 ms':>8} "
        f"{'ratio':>6} {'CPU ms':>7} {'ratio':>6} {'DB CPU ms':>9}")
    print(header)
    print('-' * len(header))
    base_ms = statistics.median(results['common.server.version (base)'][0])
    base_cpu = results['common.server.version (base)'][1] / repeat
    for kind, (times, wcpu, pcpu) in results.items():
        median, cpu_ms = statistics.median(times), wcpu / repeat * 1000
        cpu_ratio = (f"{cpu_ms / (base_cpu * 1000):>6.1f}" if base_cpu
            else f"{'—':>6}")
        print(f"{kind:<30} {median:>9.1f} {pct(times, 0.95):>8.1f} "
            f"{median / base_ms:>6.1f} {cpu_ms:>7.1f} {cpu_ratio} "
            f"{pcpu / repeat * 1000:>9.1f}")
    print("(ratio: to common.server.version on the same server; CPU ms: the "
        "gunicorn workers' user+system time per request, from /proc, "
        f"{1000 / TICK:.0f} ms ticks; DB CPU ms: the PostgreSQL backends')")


def report_throughput(throughput, refused, args):
    print()
    print(f"Member orders (quote+confirm), {args.clients} clients, "
        f"{args.seconds} s per run, trytond-worker processing meanwhile")
    header = (f"{'workers':>7} {'orders/s':>9} {'ratio':>6} {'orders':>7} "
        f"{'p50 ms':>7} {'p95 ms':>7}  CPU ms/order: "
        f"{'gunicorn':>8} {'queue':>6} {'DB':>6}")
    print(header)
    print('-' * len(header))
    first = args.workers[0]
    base = throughput[first][0] if first in throughput else None
    for workers in args.workers:
        if workers not in throughput:
            print(f"{workers:>7} no figures: {refused.get(workers)}")
            continue
        rate, latencies, _, used = throughput[workers]
        ratio = f"{rate / base:>6.2f}" if base else f"{'—':>6}"
        per = [u / len(latencies) * 1000 for u in used]
        print(f"{workers:>7} {rate:>9.1f} {ratio} "
            f"{len(latencies):>7} {pct(latencies, 0.5):>7.0f} "
            f"{pct(latencies, 0.95):>7.0f}  {'':>13} {per[0]:>8.1f} "
            f"{per[1]:>6.1f} {per[2]:>6.1f}")
    print(f"(ratio: to {first} worker(s); queue: trytond-worker processing "
        "the confirmed orders (moves, invoices) meanwhile; DB: the "
        f"PostgreSQL backends; {os.cpu_count()} cores shared by the "
        "clients, gunicorn, trytond-worker and PostgreSQL)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=30,
        help="requests of each kind for the costs (default: %(default)s)")
    parser.add_argument('--seconds', type=int, default=20,
        help="seconds of each throughput run (default: %(default)s)")
    parser.add_argument('--clients', type=int, default=8,
        help="concurrent clients of the throughput (default: %(default)s)")
    parser.add_argument('--workers', default='1,2,4',
        help="gunicorn workers of the throughput runs, the first the "
        "baseline (default: %(default)s)")
    parser.add_argument('--workers-cost', type=int, default=2,
        help="gunicorn workers while measuring costs")
    parser.add_argument('--orders', type=int, default=3000,
        help="draft member orders prepared (default: %(default)s)")
    parser.add_argument('--trace-moves', type=int, default=20_000,
        help="done moves of the trace database (default: %(default)s)")
    args = parse_args(parser, "where the databases are kept as dumps")
    args.workers = [int(w) for w in args.workers.split(',')]
    started = time.monotonic()
    names = {'orders': f'relief_bench_load_{os.getpid()}'}
    try:
        create_database(names['orders'], args.cache, 'relief_subsidy')
        guarded(run, names, args, started)
    finally:
        drop(list(names.values()))


def run(names, args, started):
    log("building the orders' database as tests/test_race_http.py does")
    orders, purchases = build_orders(names['orders'], args.orders,
        args.repeat + 1)
    from trytond import backend
    backend.Database(names['orders']).close()
    log("the trace database (bench_trace.py's, small)")
    names['trace'], lot, cold = build_trace(args)
    backend.Database(names['trace']).close()
    refuse_unless(len(cold) > args.repeat, "too few lots for the cold pages")
    work = {'orders': orders[:args.repeat + 1], 'purchases': purchases,
        'lot': lot, 'cold': cold}
    databases = [names['orders'], names['trace']]
    log(f"costs: scripts/serve, {args.workers_cost} workers")
    # No trytond-worker: the requests' own cost (the processing of the
    # orders is measured with the throughput)
    with Server(databases, args.workers_cost, queue=False) as server:
        costs = measure_costs(server, names, work, args)
    for kind, (times, _, _) in costs.items():
        refuse_unless(len(times) == args.repeat, f"{kind}: not measured")
    check_done(names['orders'], work['orders'])
    report_costs(costs, args.workers_cost, args.repeat)

    remaining = orders[args.repeat + 1:]
    throughput, refused = {}, {}
    for workers in args.workers:
        log(f"throughput: scripts/serve, {workers} workers, "
            f"{args.clients} clients")
        try:
            with Server(databases, workers) as server:
                result = measure_throughput(server, names['orders'],
                    remaining, args)
        except NotMeasured as reason:
            # the other runs are still worth printing; no figure for this
            refused[workers] = str(reason)
            log(f"no figures: {reason}")
            # the orders it took are no longer drafts
            remaining = [i for i, in execute("SELECT id FROM sale_sale "
                    "WHERE id = ANY(%s) AND state = 'draft' ORDER BY id",
                    names['orders'], (remaining,))]
            continue
        rate, latencies, done, _ = result
        # every order taken is answered: the next run takes the others
        remaining = remaining[len(done):]
        check_done(names['orders'], done)
        throughput[workers] = result
        log(f"{rate:.1f} orders/s")
    report_throughput(throughput, refused, args)
    print(f"\n({time.monotonic() - started:.0f} s in all)")
    refuse_unless(not refused, "not every throughput run was done")


if __name__ == '__main__':
    main()
