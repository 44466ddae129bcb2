# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Demo data of relief_report: the figures the command office steers by.

In 2020, 咸阳 had more than a tenth of the province's 8.5 million members
but bought 300-odd of the 7,027 万元 spent on the platform, less than 米脂县
alone.  The demo tells the same story in its own figures: the members of
咸阳's grassroots unions are raised to 12 % of the province's, and 米脂县's
federation buys relief products for the Spring Festival until 米脂县 alone
has spent more than the whole of 咸阳市 (the progress by city, the ranking
by spending per member show it).  Then the targets of the year are taken
from the plans (the wizard) with the province's own; and two purchases of
designated-assistance units outside the platform (定点扶贫) are recorded,
one verified on its proof (counted), one waiting for finance.  The
spending by product category and the 附件1 with actual figures read the
sales and the plans of relief_union's demo: report() checks they have
rows.  The back office's board (看板, Tryton's dashboard) shows the progress
by city, the ranking of cities per member and the province by month."""
import datetime as dt
import math
from decimal import Decimal

from proteus import Model, Wizard

from relief_certification import _ref, as_user
from relief_union import _listed

XIANYANG, MIZHI = '610400', '610827'
# 咸阳's share of the province's members (2020: more than a tenth)
XIANYANG_SHARE = Decimal('0.12')


def load(config, passwords):
    Date = Model.get('ir.date', config=config)
    today = Date._proxy.today(config.context)
    xianyang, mizhi = _union(config, XIANYANG), _union(config, MIZHI)
    raise_members(config, xianyang)
    with as_user(config, 'backoffice'):
        buy_in_mizhi(config, xianyang, mizhi, today)
        create_targets(config, today)
        purchase = create_offplatform(config, today)
    with as_user(config, 'finance'):
        Model.get('relief.report.offplatform', config=config)(
            purchase.id).click('verify')
    set_board(config, 'backoffice')
    report(config, xianyang, mizhi, today)


def set_board(config, login):
    """The command office's board (看板) of login: progress by city, the
    ranking of cities per member and the province by month"""
    User = Model.get('res.user', config=config)
    Action = Model.get('ir.action.act_window', config=config)
    user, = User.find([('login', '=', login)])
    user.dashboard_layout = 'stack_right'
    for sequence, fs_id in enumerate(
            ['act_board_city', 'act_board_ranking', 'act_board_month']):
        user.dashboard_actions.new(sequence=sequence,
            act_window=Action(_ref(config, 'relief_report.' + fs_id)))
    user.save()


def _union(config, code):
    Party = Model.get('party.party', config=config)
    union, = Party.find([
            ('union_level', 'in', ['city', 'county']),
            ('union_area.gbt2260_code', '=', code),
            ])
    return union


def _subtree(config, union, fields, level=None):
    Party = Model.get('party.party', config=config)
    domain = [
        ('union_left', '>=', union.union_left),
        ('union_right', '<=', union.union_right),
        ]
    if level:
        domain.append(('union_level', '=', level))
    return Party._proxy.search_read(
        domain, 0, None, None, fields, config.context)


def raise_members(config, xianyang):
    "咸阳's grassroots unions get members until 咸阳 has 12 % of them"
    Party = Model.get('party.party', config=config)
    province, = Party.find([('union_level', '=', 'province')])
    total = sum(u['union_members'] or 0
        for u in _subtree(config, province, ['union_members']))
    own = sum(u['union_members'] or 0
        for u in _subtree(config, xianyang, ['union_members']))
    grassroots = _subtree(config, xianyang, ['union_members'], 'grassroots')
    members = sum(u['union_members'] or 0 for u in grassroots)
    # own' / (total - own + own') = share
    wanted = XIANYANG_SHARE * (total - own) / (1 - XIANYANG_SHARE)
    factor = (wanted - own + members) / members if members else 0
    if factor <= 1:
        return
    args = []
    for union in grassroots:
        args += [[union['id']], {'union_members': math.ceil(
                    (union['union_members'] or 0) * factor)}]
    Party._proxy.write(*args, config.context)


def _progress(config, unions, today):
    Progress = Model.get('relief.report.progress', config=config)
    with config.set_context(year=today.year, month=today.month):
        rows = Progress._proxy.search_read(
            [('union', 'in', [u.id for u in unions])], 0, None, None,
            ['union', 'cumulative', 'members', 'member_share',
                'per_member'], config.context)
    return {r['union']: r for r in rows}


def buy_in_mizhi(config, xianyang, mizhi, today):
    """米脂县's federation buys Spring Festival gifts until 米脂县 has spent
    a fifth more than 咸阳市"""
    progress = _progress(config, [xianyang, mizhi], today)
    spent = Decimal(str(progress[mizhi.id]['cumulative'] or 0))
    missing = Decimal(str(progress[xianyang.id]['cumulative'] or 0)) * (
        Decimal('1.2')) - spent
    if missing <= 0:
        return
    product = max(_listed(config), key=lambda p: p['price'])
    PaymentTerm = Model.get('account.invoice.payment_term', config=config)
    Sale = Model.get('sale.sale', config=config)
    term, = PaymentTerm.find([], limit=1)
    address = mizhi.addresses[0].id if mizhi.addresses else None
    date = min(today, dt.date(today.year, 1, 20))
    sale_id, = Sale._proxy.create([{
                'party': mizhi.id,
                'invoice_address': address,
                'shipment_address': address,
                'sale_date': date,
                'payment_term': term.id,
                'description': "春节慰问品（演示数据）",
                'lines': [('create', [{
                                'type': 'line',
                                'product': product['product'],
                                'unit': product['unit'],
                                'quantity': math.ceil(
                                    missing / product['price']),
                                'unit_price': product['price'],
                                }])],
                }], config.context)
    sale = Sale(sale_id)
    sale.click('quote')
    sale.click('confirm')


def create_targets(config, today):
    """The unions' targets from their plans; the province's: the planned
    spending of the provincial federation, or of the unions below it"""
    wizard = Wizard('relief.report.target.from_plans', config=config)
    wizard.form.year = today.year
    wizard.execute('create_')
    Plan = Model.get('relief.union.plan', config=config)
    Target = Model.get('relief.report.target', config=config)
    plans = Plan.find([('year', '=', today.year), ('state', '=', 'confirmed'),
            ('union.union_level', 'in', ['city', 'industry', 'direct'])])
    amount = sum((p.planned_relief or 0 for p in plans), Decimal(0))
    if not Target.find([('year', '=', today.year), ('union', '=', None)]):
        Target(year=today.year, amount=amount or Decimal(100)).save()


def create_offplatform(config, today):
    """Two purchases of a designated-assistance unit: the verified one is
    returned (finance verifies it), the other waits"""
    Attachment = Model.get('ir.attachment', config=config)
    Party = Model.get('party.party', config=config)
    Purchase = Model.get('relief.report.offplatform', config=config)
    Subdivision = Model.get('country.subdivision', config=config)
    direct = Party.find([('union_level', '=', 'direct')], limit=1,
        order=[('name', 'ASC')])[0]
    county, = Subdivision.find([('gbt2260_code', '=', '610921')])
    purchases = []
    for day, description, amount, reference in [
            (dt.date(today.year, 1, 10), "汉阴富硒茶（职工食堂，演示数据）",
                Decimal('36800'), 'FP-2026-0001'),
            (today, "汉阴腊肉（职工食堂，演示数据）", Decimal('12400'), None),
            ]:
        purchase = Purchase(union=direct, county=county)
        purchase.unit = "%s（汉阴县定点帮扶单位）" % direct.name
        purchase.date = min(day, today)
        purchase.description = description
        purchase.amount = amount
        purchase.reference = reference
        purchase.save()
        purchases.append(purchase)
    attachment = Attachment(resource=purchases[0], name="发票-FP-0001.pdf")
    attachment.data = b'%PDF-1.4 demo invoice'
    attachment.save()
    return purchases[0]


def report(config, xianyang, mizhi, today):
    progress = _progress(config, [xianyang, mizhi], today)
    for union in [xianyang, mizhi]:
        row = progress[union.id]
        print("      %s: %s CNY, %s members (%s %%)" % (
                union.name, row['cumulative'], row['members'],
                row['member_share']), flush=True)
    # What 按产品类别统计 and the 附件1 with actual figures show
    OriginCategory = Model.get('relief.report.origin.category', config=config)
    Plan = Model.get('relief.union.plan', config=config)
    with config.set_context(year=today.year):
        categories = OriginCategory._proxy.search_read(
            [], 0, None, [('sales', 'DESC')], ['category.name', 'sales'],
            config.context)
    plans = Plan._proxy.search_count(
        [('year', '=', today.year)], 0, None, config.context)
    assert categories and plans, "no spending by category or no plan"
    print("      %s categories (%s: %s CNY), %s plans of %s (附件1)" % (
            len(categories), categories[0]['category.']['name'],
            categories[0]['sales'], plans, today.year), flush=True)
