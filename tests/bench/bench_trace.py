# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Time tracing a lot to its customers and the public trace page on
PostgreSQL.

Run by scripts/bench (a throwaway cluster in TRYTOND_DATABASE_URI).  The
database has relief_trace activated, a company, kiwis (a certified and
listed relief product of 周至县) and a gift pack packed from kiwis, and one
real history made through Tryton (a receipt into a lot with its origin, a
packing, sales to customers).  Those rows are then copied set-based in SQL
into --moves done moves: --lots kiwi lots, each received from the supplier
and sold to 3 customers; productions that pack two kiwi lots each into a
pack lot, each pack lot sold to 8 customers; and one "popular" kiwi lot
packed into --hot productions.

1. Tracing a lot downstream through the packing to all its customers:
   Lot.relief_trace_moves([lot], 'downstream') (the recursive query the
   recall uses, built by the ORM, ids fetched) against a hand-written
   recursive SQL query over the same tables with the same result (the
   baseline), for a typical lot and for the popular one; and upstream from
   a pack lot to the supplier moves.  Interleaved rounds; medians, 90th
   percentiles and the ratio beside the target (≤ 2 × the baseline).
2. The public trace page served by gunicorn with two workers
   (trytond.application:app), measured with wrk (or, when wrk is missing,
   a small concurrent load generator written here with http.client
   threads): requests per second of the page of a lot and of a gift pack
   beside those of a static file of the same size served by the same
   server ([web] root); the target is ≥ 0.5 × the static file.  Also a
   conditional GET answered 304, an unknown code (404), and a cold cache:
   each request the page of another lot, never rendered before.  The load
   generator shares the machine's cores with the server: compare the
   ratio, not the absolute figures.  No ratio is printed for a load whose
   answers were not the status it names.

Asserts nothing.  The loaded database is kept as a dump in --cache, keyed
by a hash of the modules' files and the sizes."""
import argparse
import http.client
import itertools
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from decimal import Decimal
from pathlib import Path

import bench_certification
from bench_certification import (
    ROOT, drop, execute, log, p90, parse_args, set_up_company, signature,
    uri)
from bench_union import restore, save

MODULE = 'relief_trace'
TARGET = Decimal(2)
PAGE_TARGET = Decimal('0.5')  # of the static file's requests per second
BASELINE = {
    'downstream': """
WITH RECURSIVE lots(lot) AS (
    SELECT %(lot)s::integer
    UNION
    SELECT output.lot FROM lots
    JOIN stock_move input ON input.lot = lots.lot
        AND input.production_input IS NOT NULL AND input.state = 'done'
    JOIN stock_move output
        ON output.production_output = input.production_input
        AND output.state = 'done' AND output.lot IS NOT NULL)
SELECT move.id FROM stock_move move
JOIN lots ON move.lot = lots.lot
JOIN stock_location location ON location.id = move.to_location
WHERE move.state = 'done' AND location.type = 'customer'
ORDER BY move.effective_date, move.id""",
    'upstream': """
WITH RECURSIVE lots(lot) AS (
    SELECT %(lot)s::integer
    UNION
    SELECT input.lot FROM lots
    JOIN stock_move output ON output.lot = lots.lot
        AND output.production_output IS NOT NULL AND output.state = 'done'
    JOIN stock_move input
        ON input.production_input = output.production_output
        AND input.state = 'done' AND input.lot IS NOT NULL)
SELECT move.id FROM stock_move move
JOIN lots ON move.lot = lots.lot
JOIN stock_location location ON location.id = move.from_location
WHERE move.state = 'done' AND location.type = 'supplier'
ORDER BY move.effective_date, move.id""",
    }
DIRECT_SALES = 3  # customers of each kiwi lot
PACK_SALES = 8  # customers of each pack lot


def queued(cfg, record):
    "Run the queued tasks (processing: TRYTOND_QUEUE__WORKER is set)"
    from trytond.pool import Pool
    from trytond.worker import run_task
    for task, in execute("SELECT id FROM ir_queue "
            "WHERE dequeued_at IS NULL ORDER BY id", cfg.database_name):
        run_task(Pool(cfg.database_name), task)
    record.reload()
    return record


def set_up(cfg):
    """The company, kiwis and the gift pack, and one history made through
    Tryton: return the ids of its lots"""
    from proteus import Model
    from trytond.modules.relief_trace.tests.tools import (
        gift_pack, origin_lot, pack_lots, purchase, receive, sale, setup,
        ship)
    from trytond.tests.tools import set_user
    set_up_company(cfg)
    w = setup(cfg)
    pack, bom = gift_pack(w, components=('kiwi',))
    set_user(w['back_office'])
    kiwi = origin_lot(w, 'BENCH-K', w['kiwi'], w['kiwi_coop'],
        relief_base="周至县楼观镇猕猴桃种植基地", poor_households=37,
        inspection_date=w['today'], inspection_result='passed',
        inspection_report="BENCH-QC")
    receive([queued(cfg, purchase(w, w['kiwi_coop'], w['kiwi'], 1000))],
        [kiwi])
    Lot = Model.get('stock.lot')
    pack_lot = Lot(number='BENCH-P', product=pack)
    pack_lot.save()
    pack_lots(pack, bom, 10, {w['kiwi']: kiwi}, pack_lot)
    ship(queued(cfg, sale(w, w['union'], pack, 1)), [pack_lot])
    ship(queued(cfg, sale(w, w['member'], w['kiwi'], 1)), [kiwi])
    return {'kiwi': kiwi.id, 'pack': pack_lot.id}


def generate(name, lots, args):
    """Copy the history set-based; return the ids of the typical, popular
    and pack lots to trace"""
    import psycopg
    with psycopg.connect(uri(name)) as connection:
        def one(query, params=None):
            return connection.execute(query, params).fetchone()

        def columns(table):
            return [c for c, in connection.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = %s AND column_name != 'id' "
                    "ORDER BY ordinal_position", (table,))]

        def copy(table, template, count, overrides):
            names = ['id'] + columns(table)
            sql = (f'INSERT INTO {table} ('
                + ', '.join(f'"{c}"' for c in names) + ') SELECT '
                + ', '.join(overrides.get(c, f'm."{c}"') for c in names)
                + f' FROM {table} m, generate_series(1, {count}) AS g(i)'
                + f' WHERE m.id = {template}')
            connection.execute(sql)
            connection.execute(
                f"SELECT setval('{table}_id_seq', "
                f"(SELECT max(id) FROM {table}))")

        def base(table):
            return one(f'SELECT COALESCE(max(id), 0) FROM {table}')[0] + 10

        kiwi, pack = lots['kiwi'], lots['pack']
        production, = one('SELECT production_output FROM stock_move '
            'WHERE lot = %s AND production_output IS NOT NULL', (pack,))
        templates = dict(connection.execute(
                "SELECT CASE "
                "WHEN f.type = 'supplier' THEN 'in' "
                "WHEN m.production_input IS NOT NULL THEN 'input' "
                "WHEN m.production_output IS NOT NULL THEN 'output' "
                "WHEN t.type != 'customer' THEN NULL "
                "WHEN m.lot = %s THEN 'sale' ELSE 'pack_sale' END, m.id "
                "FROM stock_move m "
                "JOIN stock_location f ON f.id = m.from_location "
                "JOIN stock_location t ON t.id = m.to_location "
                "WHERE m.lot IN (%s, %s) AND m.state = 'done'",
                (kiwi, kiwi, pack)).fetchall())
        templates.pop(None, None)
        assert set(templates) == {
            'in', 'input', 'output', 'sale', 'pack_sale'}, templates
        count_lots = args.lots
        productions = max(
            (args.moves - (1 + DIRECT_SALES) * count_lots - args.hot)
            // (3 + PACK_SALES), 1)
        log(f"generating {count_lots:,} kiwi lots, {productions:,} packings "
            "and their moves in SQL")
        lot0, prod0 = base('stock_lot'), base('production')
        pack0 = lot0 + count_lots
        date = "(DATE '2025-01-01' + (g.i % 360))"
        code = "substr(md5('%s' || g.i::text || random()::text), 1, 16)"
        copy('stock_lot', kiwi, count_lots, {
                'id': f'{lot0} + g.i', 'number': "'K' || g.i",
                'trace_code': code % 'k'})
        copy('stock_lot', pack, productions, {
                'id': f'{pack0} + g.i', 'number': "'P' || g.i",
                'trace_code': code % 'p'})
        copy('production', production, productions, {
                'id': f'{prod0} + g.i', 'number': "'BP' || g.i"})
        move0 = base('stock_move')

        def moves(template, count, overrides):
            nonlocal move0
            copy('stock_move', templates[template], count, {
                    'id': f'{move0} + g.i', 'effective_date': date,
                    'planned_date': date, 'origin': 'NULL',
                    'shipment': 'NULL', **overrides})
            move0 += count + 10
        moves('in', count_lots, {'lot': f'{lot0} + g.i'})
        moves('sale', count_lots * DIRECT_SALES, {
                'lot': f'{lot0} + 1 + (g.i % {count_lots})'})
        # Production j packs kiwi lots 2j and 2j + 1 (modulo)
        moves('input', productions * 2, {
                'lot': f'{lot0} + 1 + (g.i % {count_lots})',
                'production_input': f'{prod0} + 1 + ((g.i - 1) / 2)'})
        # The popular lot 1 is packed into the first --hot productions too
        moves('input', args.hot, {
                'lot': f'{lot0} + 1',
                'production_input': f'{prod0} + g.i'})
        moves('output', productions, {
                'lot': f'{pack0} + g.i',
                'production_output': f'{prod0} + g.i'})
        moves('pack_sale', productions * PACK_SALES, {
                'lot': f'{pack0} + 1 + (g.i % {productions})'})
        connection.commit()
    execute('VACUUM ANALYZE', name)
    total, = execute("SELECT count(*) FROM stock_move WHERE state = 'done'",
        name)[0]
    log(f"{total:,} done moves")
    return {
        'typical lot': lot0 + count_lots // 2,
        'popular lot': lot0 + 1,
        'pack lot (upstream)': pack0 + productions // 2,
        }


def prepare(args):
    "Create the loaded database, from the cached dump if any"
    name = f'relief_bench_trace_{os.getpid()}'
    dump = args.cache / (f'{MODULE}-{signature()}-{args.moves}-{args.lots}'
        f'-{args.hot}.dump')
    if dump.exists():
        restore(name, dump, jobs=2)
        # A dump keeps no planner statistics
        execute('ANALYZE', name)
        return name
    activated = args.cache / f'{MODULE}-{signature()}.dump'
    if activated.exists():
        restore(name, activated, jobs=2)
    else:
        execute(f'CREATE DATABASE "{name}" TEMPLATE template0 '
            "ENCODING 'UTF8'")
        bench_certification.activate(name, MODULE)
        save(name, activated)
    from proteus import config as pconfig
    cfg = pconfig.set_trytond(database=name)
    lots = set_up(cfg)
    seeds = generate(name, lots, args)
    execute("CREATE TABLE bench_trace_seed (name VARCHAR, lot INTEGER)",
        name)
    for key, lot in list(lots.items()) + list(seeds.items()):
        execute("INSERT INTO bench_trace_seed VALUES (%s, %s)", name,
            (key, lot))
    from trytond import backend
    backend.Database(name).close()
    save(name, dump)
    return name


def time_trace(name, seeds, args):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    import random
    rng = random.Random(args.seed)
    Pool.start()
    pool = Pool(name)
    with Transaction().start(name, 0, readonly=True):
        pool.init()
    cases = [(k, 'upstream' if 'upstream' in k else 'downstream', lot)
        for k, lot in seeds.items()]
    times = {(k, v): [] for k, _, _ in cases for v in ['ORM', 'SQL']}
    found = {}
    with Transaction().start(name, 0, readonly=True) as transaction:
        Lot = pool.get('stock.lot')
        cursor = transaction.connection.cursor()
        for round_ in range(args.warmup + args.repeat):
            order = [(c, v) for c in cases for v in ['ORM', 'SQL']]
            rng.shuffle(order)
            for (key, direction, lot), variant in order:
                start = time.perf_counter()
                if variant == 'ORM':
                    ids = Lot.relief_trace_moves([Lot(lot)], direction)
                else:
                    cursor.execute(BASELINE[direction], {'lot': lot})
                    ids = [r for r, in cursor]
                ms = (time.perf_counter() - start) * 1000
                found.setdefault((key, variant), ids)
                if round_ >= args.warmup:
                    times[(key, variant)].append(ms)
    print()
    print(f"Tracing a lot through the packing on PostgreSQL "
        f"({args.repeat} rounds, interleaved)")
    header = (f"{'lot':<22} {'variant':<8} {'moves':>6} {'median ms':>10} "
        f"{'p90 ms':>8} {'ratio':>6}  target")
    print(header)
    print('-' * (len(header) + 10))
    for key, _, _ in cases:
        assert found[(key, 'ORM')] == found[(key, 'SQL')], key
        baseline = statistics.median(times[(key, 'SQL')])
        for variant in ['SQL', 'ORM']:
            values = times[(key, variant)]
            median = statistics.median(values)
            ratio = target = ''
            if variant == 'ORM' and not found[(key, variant)]:
                target = "no ratio: no move traced"
            elif variant == 'ORM':
                ratio = f"{median / baseline:.2f}"
                target = f"≤ {TARGET} × SQL: " + (
                    "met" if median <= float(TARGET) * baseline
                    else "NOT met")
            print(f"{key:<22} {variant:<8} {len(found[(key, variant)]):>6} "
                f"{median:>10.2f} {p90(values):>8.2f} {ratio:>6}  {target}")
    print("(SQL: the hand-written recursive query; ORM: "
        "Lot.relief_trace_moves, the recall's query)")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _codes(name):
    return dict(execute(
            "SELECT s.name, l.trace_code FROM bench_trace_seed s "
            "JOIN stock_lot l ON l.id = s.lot "
            "WHERE s.name IN ('kiwi', 'pack')", name))


def _cold_codes(name, count):
    "Trace codes of count generated kiwi lots (each page not yet rendered)"
    return [c for c, in execute(
            "SELECT trace_code FROM stock_lot WHERE number LIKE 'K%%' "
            "ORDER BY md5(trace_code) LIMIT %s", name, (count,))]


def load(urls, seconds, connections, expected=200, headers=None):
    """Load urls (one URL or a list taken in turn) for seconds; return the
    requests per second, the requests and how many answers had another
    status than expected.  wrk for one URL when installed, else threads
    with http.client keep-alive connections."""
    headers = headers or {}
    if isinstance(urls, str) and shutil.which('wrk'):
        command = ['wrk', '-t', '2', '-c', str(connections),
            '-d', f'{max(1, round(seconds))}s', urls]
        for header in headers.items():
            command += ['-H', '%s: %s' % header]
        output = subprocess.run(command, capture_output=True, text=True,
            check=True).stdout
        rps = float(re.search(r'Requests/sec:\s+([\d.]+)', output).group(1))
        count = int(re.search(r'(\d+) requests in', output).group(1))
        errors = re.search(r'Non-2xx or 3xx responses: (\d+)', output)
        errors = int(errors.group(1)) if errors else 0
        # wrk counts neither 2xx nor 3xx
        return rps, count, (count - errors if expected >= 400 else errors)
    if isinstance(urls, str):
        urls = [urls]
    paths = [urllib.parse.urlsplit(u).path for u in urls]
    parts = urllib.parse.urlsplit(urls[0])
    counts, errors = [0] * connections, [0] * connections
    taken = itertools.count()
    deadline = time.monotonic() + seconds

    def worker(i):
        conn = http.client.HTTPConnection(parts.hostname, parts.port)
        while time.monotonic() < deadline:
            conn.request('GET', paths[next(taken) % len(paths)],
                headers=headers)
            response = conn.getresponse()
            response.read()
            counts[i] += 1
            errors[i] += response.status != expected
    threads = [threading.Thread(target=worker, args=(i,))
        for i in range(connections)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (sum(counts) / (time.monotonic() - start), sum(counts),
        sum(errors))


def _wait(url, server):
    "Return the body of url once the server answers it"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read(), response.headers
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit("gunicorn did not serve the trace page "
                    "(see var/bench-trace-gunicorn.log)")
            time.sleep(0.5)


def time_page(name, args):
    codes = _codes(name)
    port = _free_port()
    tmp = Path(tempfile.mkdtemp(prefix='bench-trace-'))
    try:
        root = tmp / 'root'
        root.mkdir()
        conf = tmp / 'trytond.conf'
        conf.write_text(f"[web]\nroot = {root}\n"
            "[cache]\nclean_timeout = 0\n")
        env = dict(os.environ, TRYTOND_CONFIG=str(conf),
            TRYTOND_DATABASE_NAMES=name)
        env.pop('TRYTOND_WEB__ROOT', None)
        log_file = (ROOT / 'var' / 'bench-trace-gunicorn.log').open('w')
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / 'gunicorn'), '-w', '2',
                '-b', f'127.0.0.1:{port}', '--access-logfile', '/dev/null',
                'trytond.application:app'],
            env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=tmp)
        base = f'http://127.0.0.1:{port}'
        trace = f'{base}/{name}/relief/trace/t/'
        page = trace + codes['kiwi']
        try:
            body, headers = _wait(page, server)
            # A static file of the page's size, served by the same server
            (root / 'static.html').write_bytes(body)
            # (name, URLs, expected status, request headers)
            cases = [
                ('static file', f'{base}/static.html', 200, None),
                ('trace page (lot)', page, 200, None),
                ('trace page (gift pack)', trace + codes['pack'], 200, None),
                ('trace page, 304', page, 304,
                    {'If-None-Match': headers['ETag']}),
                ('unknown code (404)', trace + 'AAAAAAAAAAAAAAAA', 404,
                    None),
                ]
            for _, url, expected, headers_ in cases:
                # warm up every worker
                load(url, 2, args.connections, expected, headers_)
            # Interleaved rounds: a load on the machine from elsewhere
            # falls on every case alike
            totals = {k: [0, 0.0, 0] for k, *_ in cases}
            for _ in range(args.rounds):
                for key, url, expected, headers_ in cases:
                    rps, count, bad = load(url, args.seconds / args.rounds,
                        args.connections, expected, headers_)
                    total = totals[key]
                    total[0] += count
                    total[1] += count / rps if rps else 0
                    total[2] += bad
            results = {k: (c / s if s else 0, c, b)
                for k, (c, s, b) in totals.items()}
            cold = _cold_codes(name, args.cold)
            if cold:
                # Each request a lot not rendered yet (not warmed up)
                results['trace page, cold cache'] = load(
                    [trace + c for c in cold], args.seconds,
                    args.connections)
        finally:
            server.terminate()
            server.wait(timeout=30)
            log_file.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report_page(results, len(body), len(cold), args)


def report_page(results, size, cold, args):
    """Print each load beside the static file; no ratio for a load whose
    answers were not what it names (another status, no request, a cold
    cache warmed by requests that outnumber the lots)"""
    tool = 'wrk' if shutil.which('wrk') else 'http.client threads'
    print()
    print(f"The public trace page, gunicorn with 2 workers, {tool}, "
        f"{args.connections} connections, {args.seconds} s each in "
        f"{args.rounds} interleaved rounds ({size:,} bytes a page)")
    header = (f"{'request':<24} {'req/s':>9} {'requests':>9} "
        f"{'unexpected':>10} {'vs static':>10}  target")
    print(header)
    print('-' * (len(header) + 24))

    def refused(key):
        rps, count, bad = results[key]
        if not count:
            return "no request answered"
        if bad:
            return f"{bad:,} answers of another status"
        if key.endswith('cold cache') and count > cold:
            return f"not cold: {count:,} requests for {cold:,} lots"
        return None
    static = results['static file'][0]
    for key, (rps, count, bad) in results.items():
        why = refused(key) or refused('static file')
        ratio, target = f"{rps / static:.2f}", ''
        if why:
            ratio, target = '—', f"no ratio: {why}"
        elif key in {'trace page (lot)', 'trace page (gift pack)'}:
            target = f"≥ {PAGE_TARGET} × static: " + (
                "met" if rps >= float(PAGE_TARGET) * static else "NOT met")
        print(f"{key:<24} {rps:>9.1f} {count:>9,} {bad:>10,} "
            f"{ratio:>10}  {target}")
    print("(the lot's and the gift pack's pages are kept by the server, "
        "each worker rendering once; 304: a phone that has the page; "
        "cold cache: each request a lot never rendered)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--moves', type=int, default=1_000_000,
        help="done moves in all (default: %(default)s)")
    parser.add_argument('--lots', type=int, default=100_000,
        help="kiwi lots (default: %(default)s)")
    parser.add_argument('--hot', type=int, default=500,
        help="productions the popular lot is packed into "
        "(default: %(default)s)")
    parser.add_argument('--repeat', type=int, default=30,
        help="timed rounds of the trace (default: %(default)s)")
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--seconds', type=int, default=10,
        help="seconds of load per URL (default: %(default)s)")
    parser.add_argument('--connections', type=int, default=8,
        help="concurrent connections of the load (default: %(default)s)")
    parser.add_argument('--rounds', type=int, default=5,
        help="interleaved rounds of the page loads, --seconds in all "
        "(default: %(default)s)")
    parser.add_argument('--cold', type=int, default=20_000,
        help="lots whose pages the cold cache load requests, each once "
        "(default: %(default)s; 0: no cold load)")
    args = parse_args(parser, "where the databases are kept as dumps")
    started = time.monotonic()
    name = prepare(args)
    try:
        seeds = dict(execute(
                "SELECT name, lot FROM bench_trace_seed "
                "WHERE name NOT IN ('kiwi', 'pack')", name))
        time_trace(name, seeds, args)
        from trytond import backend
        backend.Database(name).close()
        time_page(name, args)
        print(f"\n({time.monotonic() - started:.0f} s in all)")
    finally:
        drop([name])


if __name__ == '__main__':
    main()
