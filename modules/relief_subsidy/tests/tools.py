# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The distributor, products, unions and members of the subsidy scenarios,
and the accounting invariants checked after each of them."""
import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from proteus import Model

from trytond.modules.account.tests.tools import create_fiscalyear, get_accounts
from trytond.modules.account_invoice.tests.tools import (
    create_payment_term, set_fiscalyear_invoice_sequences)
from trytond.modules.company.tests.tools import get_company


def set_up(today=None):
    """Create the fiscal year, the subsidy receivable account, the users,
    the products (kiwis and walnuts certified and listed, a tea set that is
    not a relief product), unions, members and two payers"""
    today = today or dt.date.today()
    Account = Model.get('account.account')
    CatalogueEntry = Model.get('relief.catalogue.entry')
    Group = Model.get('res.group')
    Party = Model.get('party.party')
    ProductCategory = Model.get('product.category')
    ProductCertification = Model.get('relief.product.certification')
    ProductUom = Model.get('product.uom')
    Subdivision = Model.get('country.subdivision')
    SupplierCertification = Model.get('relief.supplier.certification')
    Template = Model.get('product.template')
    User = Model.get('res.user')

    fiscalyear = set_fiscalyear_invoice_sequences(
        create_fiscalyear(today=today))
    fiscalyear.click('create_period')
    accounts = get_accounts()
    payment_term = create_payment_term()
    payment_term.save()

    # The payers' share waits in its own receivable account until claimed
    subsidy_account = Account(name="应收补贴款（未结算）", code='1122.01')
    subsidy_account.type = accounts['receivable'].type
    subsidy_account.reconcile = True
    subsidy_account.party_required = True
    subsidy_account.relief_subsidy = True
    subsidy_account.save()

    def user(login, name, groups):
        record = User(login=login, name=name)
        for group in groups:
            record.groups.append(Group.find([('name', '=', group)])[0])
        record.companies.append(get_company())
        record.company = get_company()
        record.save()
        return record
    back_office = user('back_office', "Back Office", [
            "Consumption Assistance Back Office", "Sales", "Stock"])
    finance = user('finance', "Finance", [
            "Consumption Assistance Finance", "Accounting", "Sales"])

    def area(code):
        subdivision, = Subdivision.find([('gbt2260_code', '=', code)])
        return subdivision

    account_category = ProductCategory(name="Account Category")
    account_category.accounting = True
    account_category.account_expense = accounts['expense']
    account_category.account_revenue = accounts['revenue']
    account_category.save()
    fruit = ProductCategory(name="水果")
    fruit.save()
    unit, = ProductUom.find([('name', '=', "Unit")])

    def product(name, price, relief=False, category=None):
        template = Template(name=name, default_uom=unit, type='goods')
        template.salable = True
        template.list_price = Decimal(price)
        template.account_category = account_category
        template.relief = relief
        if category:
            template.categories.append(ProductCategory(category.id))
        template.save()
        record, = template.products
        return record
    kiwi = product("周至猕猴桃礼盒", '65', relief=True, category=fruit)
    walnut = product("洛南核桃", '50', relief=True)
    tea_set = product("工会纪念茶具", '85')

    supplier = Party(name="周至县猕猴桃专业合作社")
    supplier.save()
    certified_from = dt.date(today.year - 1, 1, 1)
    SupplierCertification(
        supplier=supplier, county=area('610124'), office="周至县扶贫开发办公室",
        number="610124-001", poor_people=100, valid_from=certified_from,
        valid_to=today + dt.timedelta(days=700)).click('certify')
    for record, number in [(kiwi, '6101240001'), (walnut, '6101240002')]:
        ProductCertification(
            template=record.template, supplier=supplier,
            catalogue_number=number, valid_from=certified_from,
            valid_to=today + dt.timedelta(days=700)).click('certify')
        entry = CatalogueEntry(template=record.template)
        entry.listed = certified_from
        entry.click('list_')

    def union(name, level, parent, code):
        record = Party(name=name, union_level=level)
        record.union_parent = parent
        record.union_area = area(code)
        record.save()
        return record
    province = union("陕西省总工会", 'province', None, '610000')
    xian = union("西安市总工会", 'city', province, '610100')
    zhouzhi = union("周至县总工会", 'county', xian, '610124')
    school = union("周至县第一中学工会委员会", 'grassroots', zhouzhi, '610124')
    ankang = union("安康市总工会", 'city', province, '610900')
    hanyin = union("汉阴县某中学工会委员会", 'grassroots', ankang, '610921')

    def member(name, union, number):
        record = Party(name=name, member_union=union, member_number=number)
        record.save()
        return record
    zhang = member("张伟", school, 'SN-0001')
    li = member("李娜", school, 'SN-0002')
    wang = member("王芳", hanyin, 'SN-0003')
    walk_in = Party(name="散客")
    walk_in.save()

    fund = Party(name="陕西省总工会消费帮扶专项经费")
    fund.save()
    bank = Party(name="中国银联陕西分公司")
    bank.save()
    return SimpleNamespace(**locals())


def run_program(s, name, budget, today, product=None):
    """Create and run a programme paying 20 % of the price, within budget,
    for the year of today, of product (of every listed product if None)"""
    program = Model.get('relief.subsidy.program')(name=name)
    program.payer = s.fund
    program.account = s.subsidy_account
    program.budget = budget
    program.valid_from = today.replace(month=1, day=1)
    program.valid_to = today.replace(month=12, day=31)
    if product:
        program.products.append(Model.get('product.product')(product.id))
    program.percentage = Decimal('20')
    program.click('run')
    return program


def sell(party, *lines, payment_term=None, date=None):
    "Create and return a draft sale of (product, quantity) lines"
    Sale = Model.get('sale.sale')
    sale = Sale(party=party, payment_term=payment_term)
    sale.sale_date = date
    for product, quantity in lines:
        line = sale.lines.new()
        line.product = product
        line.quantity = quantity
    sale.save()
    return sale


def check_invariants():
    """Check the accounting invariants; return them as text

    - the subsidies of the confirmed sales are claimed or unclaimed;
    - each claim's invoice is the sum of the claim's lines;
    - what each payer owes on its receivable is claimed less paid."""
    Claim = Model.get('relief.subsidy.claim')
    ClaimLine = Model.get('relief.subsidy.claim.line')
    MoveLine = Model.get('account.move.line')
    SubsidyLine = Model.get('relief.subsidy.line')
    lines = SubsidyLine.find([('state', 'in', ['confirmed', 'cancelled'])])
    claimed_ids = {c.subsidy_line.id for c in ClaimLine.find([])}
    total = sum((l.amount for l in lines), Decimal(0))
    claimed = sum((c.amount for c in ClaimLine.find([])), Decimal(0))
    unclaimed = sum((l.amount for l in lines if l.id not in claimed_ids),
        Decimal(0))
    assert total == claimed + unclaimed, (total, claimed, unclaimed)
    claims = Claim.find([('state', 'in', ['sent', 'paid'])])
    owed = {}
    for claim in claims:
        assert claim.invoice.total_amount == claim.amount == sum(
            l.amount for l in claim.lines), claim
        owed.setdefault((claim.payer, claim.invoice.account), []).append(
            claim)
    for (payer, receivable), p_claims in owed.items():
        balance = sum((l.debit - l.credit for l in MoveLine.find([
                        ('account', '=', receivable.id),
                        ('party', '=', payer.id),
                        ('move.state', '=', 'posted'),
                        ])), Decimal(0))
        claimed_payer = sum(c.amount for c in p_claims)
        paid = sum(c.amount - c.invoice.amount_to_pay for c in p_claims)
        assert balance == claimed_payer - paid, (
            payer.name, balance, claimed_payer, paid)
    return "subsidies %s = claimed %s + unclaimed %s; %s claims" % (
        total, claimed, unclaimed, len(claims))
