# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Time subsidies on PostgreSQL: member orders and claim generation.

Run by scripts/bench (a throwaway cluster in TRYTOND_DATABASE_URI), with
the helpers of bench_certification.py.  The database: the distributor, a
grassroots union and a member, 10 products and three running subsidy
programmes that all apply to the member (20 %, then 2 CNY a unit, then
5 %).

1. Quoting and confirming a 10-line member order, through proteus as a
   client's clicks are (processing goes to the queue as with
   trytond-worker): with the three programmes against the same order with
   the module's subsidies off (plain Tryton).  Interleaved in a random
   order each round.
2. Generating a claim for --lines subsidy lines (inserted in SQL): the
   Generate Lines click, which queues a claim that large, and the queued
   task run inline as trytond-worker runs it (one INSERT…SELECT, the
   notification), against a hand-written INSERT…SELECT of the same lines;
   each run in a transaction rolled back.

Everything is dated with the company's date (Asia/Shanghai), as the sales
are.  Prints medians beside their baselines as ratios and the targets
(≤ 1.2 and ≤ 2); asserts no timing, but prints no ratio and exits non-zero
when the work timed is not the work named (an order not confirmed or
without its subsidies, a claim of fewer lines than --lines).  The database
is dropped at the end."""
import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from unittest import mock

# Before trytond reads its configuration: confirming queues the processing
# (as with trytond-worker) instead of running it in the timed call.
os.environ['TRYTOND_QUEUE__WORKER'] = 'True'

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_certification import (  # noqa: E402
    company_today, copies, create_database, drop, execute, guarded,
    interleaved, log, p90, parse_args, refuse_unless, set_up_company,
    states, timed_clicks, uri)

MODULE = 'relief_subsidy'
LINES = 10
TARGETS = {'order': Decimal('1.2'), 'claim': Decimal('2')}


def set_up(cfg):
    "A member, 10 products, three programmes; return the model order"
    from proteus import Model
    from trytond.modules.account.tests.tools import (
        create_chart, get_accounts)
    set_up_company(cfg)
    create_chart()
    receivable = get_accounts()['receivable']
    Account = Model.get('account.account')
    account = Account(name="应收补贴款", type=receivable.type,
        party_required=True, reconcile=True, relief_subsidy=True)
    account.save()
    Party = Model.get('party.party')
    Subdivision = Model.get('country.subdivision')
    Uom = Model.get('product.uom')
    Template = Model.get('product.template')
    Program = Model.get('relief.subsidy.program')
    Sale = Model.get('sale.sale')
    area, = Subdivision.find([('code', '=', 'CN-SN')])
    province = Party(name="陕西省总工会", union_level='province',
        union_area=area)
    province.save()
    union = Party(name="周至县第一中学工会委员会", union_level='grassroots',
        union_parent=province, union_area=area)
    union.save()
    member = Party(name="张伟", member_union=union, member_number='B-0001')
    member.save()
    payer = Party(name="陕西省总工会消费帮扶专项经费")
    payer.save()
    unit, = Uom.find([('name', '=', "Unit")])
    products = []
    for i in range(LINES):
        template = Template(name=f"商品 {i}", type='goods', salable=True,
            default_uom=unit, list_price=Decimal(60 + i))
        template.save()
        products.append(template.products[0])
    today = company_today(cfg)
    programs = []
    for priority, rule, value in [
            (10, 'percentage', Decimal(20)), (20, 'fixed', Decimal(2)),
            (30, 'percentage', Decimal(5))]:
        program = Program(name=f"补贴 {priority}", payer=payer,
            account=account,
            budget=Decimal('100000000'), priority=priority, rule=rule,
            valid_from=today - dt.timedelta(days=30),
            valid_to=today + dt.timedelta(days=30))
        if rule == 'percentage':
            program.percentage = value
        else:
            program.unit_amount = value
        program.save()
        programs.append(program)
    Program.click(programs, 'run')
    sale = Sale(party=member)
    for product in products:
        line = sale.lines.new(product=product)
        line.quantity = 2
    sale.save()
    return sale, programs


def timed_order(cfg, sale_id, subsidies):
    "Quote and confirm one order as clicks do; return the milliseconds"
    from trytond.pool import Pool
    patches = []
    if not subsidies:
        Sale = Pool(cfg.database_name).get('sale.sale')
        patches = [mock.patch.object(Sale, 'apply_subsidies',
                classmethod(lambda cls, sales: None))]
    return timed_clicks(cfg, 'sale.sale', sale_id, ['quote', 'confirm'],
        patches)


def check_orders(cfg, fresh, programs):
    """Refuse ratios unless every order timed was confirmed, those with
    programmes with a subsidy line of each programme per sale line"""
    for variant, ids in fresh.items():
        confirmed = states(cfg, 'sale.sale', ids)
        refuse_unless(set(confirmed) <= {'confirmed', 'processing'},
            f"the orders of {variant!r} are not all confirmed: {confirmed}")
    proxy = cfg.get_proxy('relief.subsidy.line')
    for variant, expected in [('three programmes', LINES * len(programs)),
            ('no programmes', 0)]:
        ids = fresh[variant]
        found = proxy.search_count([('sale', 'in', ids)], 0, None,
            cfg.context)
        refuse_unless(found == expected * len(ids),
            f"the orders of {variant!r} have {found} subsidy lines, not "
            f"{expected} each ({len(ids)} orders)")


def insert_lines(name, sale_id, program_id, count):
    "count confirmed subsidy lines of program, copies of one of sale's"
    import psycopg
    with psycopg.connect(uri(name)) as connection:
        names = [c for c, in connection.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'relief_subsidy_line' "
                "AND column_name != 'id' ORDER BY ordinal_position")]
        overrides = {'create_date': 'now()'}
        values = ', '.join(overrides.get(c, f'l."{c}"') for c in names)
        connection.execute(
            f'INSERT INTO relief_subsidy_line '
            f'({", ".join(chr(34) + c + chr(34) for c in names)}) '
            f'SELECT {values} FROM relief_subsidy_line AS l, '
            'generate_series(1, %s) AS g(i) '
            'WHERE l.id = (SELECT min(id) FROM relief_subsidy_line '
            'WHERE sale = %s AND program = %s)',
            (count, sale_id, program_id))
        connection.commit()
    execute('ANALYZE relief_subsidy_line', name)


def time_claims(cfg, program_id, repeat):
    """Median milliseconds of generating the claim (the click and the task
    it queues, run inline) and of the hand-written INSERT…SELECT of the
    same lines, each in a transaction rolled back; the lines"""
    from proteus import Model
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    today = company_today(cfg)
    # A draft claim, committed (creating one checks its period under a
    # table lock, which a bare transaction cannot take)
    claim = Model.get('relief.subsidy.claim')(program=program_id,
        start_date=today - dt.timedelta(days=30), end_date=today)
    claim.save()
    pool = Pool(cfg.database_name)
    Claim = pool.get('relief.subsidy.claim')
    times = {'generate': [], 'INSERT…SELECT': []}
    counts = set()
    for _ in range(repeat):
        for variant in random.sample(list(times), len(times)):
            with Transaction().start(cfg.database_name, cfg.user,
                    context=cfg.context) as transaction:
                cursor = transaction.connection.cursor()
                start = time.perf_counter()
                if variant == 'generate':
                    generate(pool, Claim(claim.id))
                else:
                    cursor.execute(
                        'INSERT INTO relief_subsidy_claim_line '
                        '(claim, subsidy_line, amount, create_uid, '
                        'create_date) '
                        'SELECT %s, l.id, l.amount, %s, now() '
                        'FROM relief_subsidy_line AS l '
                        'WHERE l.program = %s AND l.date <= %s '
                        "AND l.state IN ('confirmed', 'cancelled')",
                        (claim.id, cfg.user, program_id, today))
                times[variant].append(
                    (time.perf_counter() - start) * 1000)
                cursor.execute('SELECT count(*) FROM '
                    'relief_subsidy_claim_line WHERE claim = %s',
                    (claim.id,))
                counts.add((variant, cursor.fetchone()[0]))
                transaction.rollback()
    return {v: statistics.median(t) for v, t in times.items()}, counts


def generate(pool, claim):
    """Click Generate Lines on claim (queued, as a claim of more than
    claim_queue_lines is), then run the task it queued as trytond-worker
    does (in this transaction)"""
    from trytond.transaction import Transaction
    Claim = pool.get('relief.subsidy.claim')
    Queue = pool.get('ir.queue')
    # Queued whatever --lines: the path of a large claim
    with Transaction().set_context(relief_claim_queue_lines=0):
        Claim.generate([claim])
    tasks = [t for t in Queue.search([('finished_at', '=', None)])
        if t.data['method'] == 'generate_queued'
        and list(t.data['instances']) == [claim.id]]
    refuse_unless(len(tasks) == 1,
        f"Generate Lines queued {len(tasks)} tasks, not 1")
    tasks[0].run()
    refuse_unless(not Claim(claim.id).generating,
        "the queued task left the claim generating")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=30,
        help="timed orders per variant (default: %(default)s)")
    parser.add_argument('--warmup', type=int, default=5,
        help="untimed orders per variant first")
    parser.add_argument('--lines', type=int, default=100_000,
        help="subsidy lines of the claim (default: %(default)s)")
    parser.add_argument('--claim-repeat', type=int, default=5,
        help="timed claim generations per variant")
    args = parse_args(parser)
    name = f'relief_bench_subsidy_{os.getpid()}'
    started = time.monotonic()
    create_database(name, args.cache, MODULE)
    try:
        guarded(run, name, args, started)
    finally:
        drop([name])


def run(name, args, started):
    from proteus import config as pconfig
    cfg = pconfig.set_trytond(database=name)
    model, programs = set_up(cfg)

    variants = {'no programmes': False, 'three programmes': True}
    per_variant = args.warmup + args.repeat
    log(f"creating {per_variant * len(variants)} draft orders of "
        f"{LINES} lines")
    fresh = {v: copies(cfg, 'sale.sale', model.id, per_variant)
        for v in variants}
    log(f"quoting and confirming {per_variant} orders per variant, "
        f"interleaved ({args.warmup} untimed first)")
    times = interleaved(variants, per_variant, args.warmup, args.seed,
        lambda variant, round_: timed_order(
            cfg, fresh[variant][round_], variants[variant]))
    check_orders(cfg, fresh, programs)
    median = {v: statistics.median(t) for v, t in times.items()}
    print()
    print(f"Quoting and confirming a member order of {LINES} lines, "
        f"{args.repeat} times per variant")
    header = f"{'variant':<20} {'median ms':>10} {'p90 ms':>8} {'ratio':>6}"
    print(header + "  target")
    print('-' * (len(header) + 30))
    ratio = median['three programmes'] / median['no programmes']
    for variant in variants:
        extra = ''
        if variant == 'three programmes':
            met = Decimal(str(ratio)) <= TARGETS['order']
            extra = (f"{ratio:>6.2f}  ≤ {TARGETS['order']} × no programmes: "
                f"{'met' if met else 'NOT met'}")
        print(f"{variant:<20} {median[variant]:>10.1f} "
            f"{p90(times[variant]):>8.1f} {extra}", flush=True)
    print()

    sale_id = fresh['three programmes'][0]
    log(f"inserting {args.lines:,} subsidy lines in SQL")
    insert_lines(name, sale_id, programs[0].id, args.lines)
    claims, counts = time_claims(cfg, programs[0].id, args.claim_repeat)
    count = min(c for _, c in counts)
    refuse_unless(len({c for _, c in counts}) == 1 and count >= args.lines,
        f"the claims timed hold {sorted(counts)} lines (variant, lines), "
        f"not the same {args.lines:,} or more")
    ratio = claims['generate'] / claims['INSERT…SELECT']
    met = Decimal(str(ratio)) <= TARGETS['claim']
    print(f"Generating a claim of {count:,} subsidy lines, median of "
        f"{args.claim_repeat}")
    print(f"{'Claim.generate':<20} {claims['generate']:>10.1f} ms "
        f"{ratio:>6.2f}  ≤ {TARGETS['claim']} × hand-written: "
        f"{'met' if met else 'NOT met'}")
    print(f"{'INSERT…SELECT':<20} {claims['INSERT…SELECT']:>10.1f} ms")
    print(f"Total time: {time.monotonic() - started:.0f} s")


if __name__ == '__main__':
    main()
