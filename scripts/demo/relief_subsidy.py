# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Demo data of relief_subsidy: the special fund of 10,000,000 CNY, a bank
card programme, members' orders with their subsidies, and claims to the
payers at each state (draft, sent, paid).  One order's goods were cancelled
after its subsidies were claimed: the draft claims credit them.

The payers' names and the figures are invented.  The members are those of
relief_union's demo; their orders are of products listed in the catalogue
(relief_union.py's helper), dated 40 and 20 days ago and today, so that the
paid claim covers the first, the sent claim the second and the draft claim
today's orders.  Records are created set-based, with the helpers of
relief_certification.py."""
import datetime as dt
import random
from decimal import Decimal

from proteus import Model, Wizard

from relief_certification import _click, _create, as_user
from relief_union import _listed, _search_read

FUND = "陕西省总工会消费帮扶专项经费"
BANK = "中国银联股份有限公司陕西分公司（演示数据）"
ORDERS = 12  # per date
# The order whose goods the warehouse could not deliver (cancel_goods)
CANCELLED = "会员商城订单（缺货取消，补贴冲减演示）"
COUPONS = 20  # numbers of the coupon campaign, a few used by the orders


def load(config, passwords):
    rng = random.Random(5110)  # the same data at every build
    Date = Model.get('ir.date', config=config)
    today = Date._proxy.today(config.context)
    account = create_account(config)
    payment_method = create_payment_method(config)
    coupon = create_coupon_campaign(config, today)
    with as_user(config, 'finance'):
        fund, bank = create_programs(config, account, today)
        campaign = create_campaign_program(config, account, coupon, today)
    dates = [today - dt.timedelta(days=40), today - dt.timedelta(days=20),
        today]
    with as_user(config, 'backoffice'):
        create_orders(config, rng, dates)
    with as_user(config, 'finance'):
        post_customer_invoices(config)
        create_claims(config, [fund, bank, campaign], dates, payment_method)
    with as_user(config, 'backoffice'):
        cancel_goods(config)
    with as_user(config, 'finance'):
        Claim = Model.get('relief.subsidy.claim', config=config)
        _click(Claim.find([('state', '=', 'draft')]), 'generate')


def create_account(config):
    "The subsidy receivable: the payers' share until it is claimed"
    Account = Model.get('account.account', config=config)
    receivable, = Account.find([
            ('type.receivable', '=', True), ('party_required', '=', True),
            ('relief_subsidy', '=', False)], limit=1)
    account = Account(name="应收补贴款（未结算）", code='1122.01')
    account.parent = receivable.parent
    account.type = receivable.type
    account.reconcile = True
    account.party_required = True
    account.relief_subsidy = True
    account.save()
    return account


def create_payment_method(config):
    "How the finance staff record what the payers transfer"
    from trytond.modules.account.tests.tools import get_accounts
    Company = Model.get('company.company', config=config)
    Journal = Model.get('account.journal', config=config)
    PaymentMethod = Model.get('account.invoice.payment.method', config=config)
    journal, = Journal.find([('type', '=', 'cash')], limit=1)
    cash = get_accounts(Company.find()[0], config=config)['cash']
    method = PaymentMethod(name="银行转账", journal=journal)
    method.credit_account = method.debit_account = cash
    method.save()
    return method


def create_programs(config, account, today):
    """The special fund pays 15 % of the relief products of members, at most
    600 CNY per member and year; the bank card takes 5 CNY per unit off
    anything, for members and unions"""
    Party = Model.get('party.party', config=config)
    Program = Model.get('relief.subsidy.program', config=config)
    Product = Model.get('product.product', config=config)
    fund_party = Party(name=FUND)
    fund_party.save()
    bank_party = Party(name=BANK)
    bank_party.save()
    year_start = today.replace(month=1, day=1) - dt.timedelta(days=60)
    fund = Program(name=f"{today.year}年消费帮扶专项经费会员补贴",
        payer=fund_party)
    fund.account = account
    fund.budget = Decimal('10000000')
    fund.valid_from = year_start
    fund.valid_to = today.replace(month=12, day=31)
    fund.customers = 'members'
    fund.rule = 'percentage'
    fund.percentage = Decimal('15')
    fund.floor_price = Decimal('1')
    fund.member_limit = Decimal('600')
    fund.limit_period = 'year'
    fund.priority = 10
    fund.claim_grouping = 'product'
    for product in _listed(config):
        fund.products.append(Product(product['product']))
    fund.save()
    bank = Program(name="云闪付工会会员服务卡立减", payer=bank_party)
    bank.account = account
    bank.budget = Decimal('200000')
    bank.valid_from = year_start
    bank.valid_to = today.replace(month=12, day=31)
    bank.customers = 'both'
    bank.rule = 'fixed'
    bank.unit_amount = Decimal('5')
    bank.floor_price = Decimal('1')
    bank.priority = 20
    bank.claim_grouping = 'sale'
    bank.save()
    Program.click([fund, bank], 'run')
    return fund, bank


def create_coupon_campaign(config, today):
    """A coupon campaign (消费券): a promotion without a discount of its own
    whose numbers can each be used once"""
    Promotion = Model.get('sale.promotion', config=config)
    promotion = Promotion(name="会员节消费券（演示数据）")
    promotion.formula = 'unit_price'
    coupon = promotion.coupons.new()
    coupon.number_of_use = 1
    for i in range(1, COUPONS + 1):
        coupon.numbers.new(number=f"XF{today.year}-{i:04d}")
    promotion.save()
    coupon, = promotion.coupons
    return coupon


def create_campaign_program(config, account, coupon, today):
    "The special fund pays 10 CNY a unit to members who bring a coupon"
    Program = Model.get('relief.subsidy.program', config=config)
    Coupon = Model.get('sale.promotion.coupon', config=config)
    payer, = Model.get('party.party', config=config).find(
        [('name', '=', FUND)])
    program = Program(name="会员节消费券补贴", payer=payer)
    program.account = account
    program.budget = Decimal('50000')
    program.valid_from = today - dt.timedelta(days=60)
    program.valid_to = today + dt.timedelta(days=60)
    program.customers = 'members'
    program.rule = 'fixed'
    program.unit_amount = Decimal('10')
    program.floor_price = Decimal('1')
    program.priority = 30
    program.coupon = Coupon(coupon.id)
    program.click('run')
    return program


def create_orders(config, rng, dates):
    "Members' orders in the mall at each date, quoted and confirmed"
    members = _search_read(config, 'party.party', [
            ('member_union', '!=', None)], ['addresses'])
    members = [m for m in members if m['addresses']]
    vlist = []
    codes = iter(f"XF{dates[-1].year}-{i:04d}" for i in range(1, COUPONS + 1))
    for date in dates:
        products = [p for p in _listed(config) if p['listed'] <= date]
        if not products:
            continue
        for member in rng.sample(members, min(ORDERS, len(members))):
            lines = rng.sample(products, min(len(products), rng.randint(1, 3)))
            vlist.append({
                    'party': member['id'],
                    'invoice_address': member['addresses'][0],
                    'shipment_address': member['addresses'][0],
                    'sale_date': date,
                    'description': "会员商城订单（补贴演示）",
                    'lines': [('create', [{
                                    'type': 'line',
                                    'product': p['product'],
                                    'unit': p['unit'],
                                    'quantity': rng.randint(1, 2),
                                    'unit_price': p['price'],
                                    } for p in lines])],
                    })
            if date == dates[-1] and rng.random() < 0.4:
                vlist[-1]['relief_coupon'] = next(codes)
        if date == dates[1]:
            # Invoiced when shipped: the member pays for delivered goods
            vlist[-1]['invoice_method'] = 'fulfillment'
            vlist[-1]['description'] = CANCELLED
    sales = _create(config, 'sale.sale', vlist)
    _click(sales, 'quote')
    _click(sales, 'confirm')


def post_customer_invoices(config):
    "The members are invoiced their share; the payers' share is booked"
    Sale = Model.get('sale.sale', config=config)
    invoices = [i for s in Sale.find([
                ('description', '=', "会员商城订单（补贴演示）")])
        for i in s.invoices if i.state == 'draft']
    _click(invoices, 'post')


def cancel_goods(config):
    """The warehouse could not deliver the goods of one order of 20 days
    ago, whose subsidies the sent claims hold: its shipment is cancelled
    and the goods ignored.  Correcting lines credit the payers in today's
    draft claims."""
    Sale = Model.get('sale.sale', config=config)
    sale, = Sale.find([('description', '=', CANCELLED)])
    _click(list(sale.shipments), 'cancel')
    handle = Wizard('sale.handle.shipment.exception', [sale], config=config)
    handle.form.ignore_moves.extend(handle.form.ignore_moves.find())
    handle.execute('handle')


def create_claims(config, programs, dates, payment_method):
    """Per programme: the claim of 40 days ago paid, that of 20 days ago
    sent, today's in draft"""
    Claim = Model.get('relief.subsidy.claim', config=config)
    for program in programs:
        claims = []
        for date in dates:
            claim = Claim(program=program)
            claim.start_date = date - dt.timedelta(days=5)
            claim.end_date = date
            claim.save()
            claim.click('generate')
            claims.append(claim)
        # A claim with nothing to claim is not kept
        empty = [c for c in claims if not c.lines]
        Claim.delete(empty)
        paid, sent, _ = [None if c in empty else c for c in claims]
        for claim in [paid, sent]:
            if claim:
                claim.click('send')
        if paid:
            pay = Wizard('account.invoice.pay', [paid.invoice], config=config)
            pay.form.amount = paid.invoice.total_amount
            pay.form.payment_method = payment_method
            pay.execute('choice')
