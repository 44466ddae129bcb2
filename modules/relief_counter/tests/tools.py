# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The counters of the scenarios: relief_subsidy's distributor, unions and
members, a counter hosted by 西安市总工会 and a smart cabinet hosted by a
bank branch, each with its own storage location stocked from the
warehouse, a cash and a card payment method, a member price list."""
import datetime as dt
from decimal import Decimal

from proteus import Model

from trytond.modules.account.tests.tools import get_accounts
from trytond.modules.relief_subsidy.tests.tools import set_up as set_up_subsidy


def sites_warehouse(distributor, name="专柜与智能柜", code='ZG'):
    """The warehouse of the points' shelves: apart from the distributor's,
    whose sales and mall orders would otherwise promise and pick the goods
    on the shelves of the sites"""
    Location = Model.get('stock.location')
    storage = Location(name=name + "货架", type='storage')
    storage.save()
    warehouse = Location(name=name, code=code, type='warehouse',
        input_location=storage, output_location=storage,
        storage_location=storage, relief_sites=True,
        lost_found_location=distributor.lost_found_location)
    if 'production_location' in Location._fields:  # production activated
        warehouse.production_location = distributor.production_location
    warehouse.save()
    return warehouse


def set_up(today=None, stock=None):
    """relief_subsidy's set-up, then the counter and the cabinet with stock
    (by product name: quantity, at each point, in the sites' warehouse,
    provisioned from the distributor's) and payment methods"""
    today = today or dt.date.today()
    s = set_up_subsidy(today)
    Journal = Model.get('account.journal')
    Location = Model.get('stock.location')
    Lot = Model.get('stock.lot')
    Inventory = Model.get('stock.inventory')
    Method = Model.get('sale.point.payment.method')
    PriceList = Model.get('product.price_list')
    Sequence = Model.get('ir.sequence.strict')
    SequenceType = Model.get('ir.sequence.type')
    accounts = get_accounts()

    s.warehouse, = Location.find([('code', '=', 'WH')])
    s.customer_location, = Location.find([('code', '=', 'CUS')])
    revenue_journal, = Journal.find([('type', '=', 'revenue')], limit=1)
    sequence_type, = SequenceType.find([('name', '=', "POS")])

    s.price_list = PriceList(name="会员价", price='list_price')
    rule = s.price_list.lines.new()
    rule.formula = 'unit_price * 0.9'
    s.price_list.save()

    s.cash = Method(name="现金", account=accounts['cash'], cash=True)
    s.cash.save()
    s.card = Method(name="银联刷卡", account=accounts['cash'], cash=False)
    s.card.save()

    stock = stock or {'kiwi': 50, 'walnut': 50, 'tea_set': 20}
    s.sites = sites_warehouse(s.warehouse)

    def point(name, kind, host, site, code):
        location = Location(name=name, code=code, type='storage',
            parent=s.sites.storage_location,
            provisioning_location=s.warehouse.storage_location)
        location.save()
        inventory = Inventory(location=location, date=today)
        for product, quantity in stock.items():
            line = inventory.lines.new()
            line.product = getattr(s, product)
            line.lot = Lot(number='%s-%s' % (code, product),
                product=line.product,
                shelf_life_expiration_date=today + dt.timedelta(days=60))
            line.lot.save()
            line.quantity = quantity
        inventory.click('confirm')
        record = Model.get('sale.point')(name=name)
        record.relief_kind = kind
        record.host = host
        record.site_type = site
        record.journal = revenue_journal
        # A sequence per point: two counters never wait for each other
        record.sequence = Sequence(name=name, sequence_type=sequence_type,
            company=record.company)
        record.sequence.save()
        record.tax_included = True
        record.storage_location = location
        record.return_location = location
        record.customer_location = s.customer_location
        record.member_price_list = s.price_list
        record.save()
        return record
    s.counter = point("西安市总工会职工之家扶贫专柜", 'counter', s.xian,
        'workers_home', 'XA-ZGZJ')
    s.bank_branch = Model.get('party.party')(name="长安银行西安高新支行")
    s.bank_branch.save()
    s.cabinet = point("长安银行高新支行劳动者港湾智能柜", 'cabinet',
        s.bank_branch, 'bank_branch', 'XA-GX-C1')
    for product in [s.kiwi, s.walnut, s.tea_set]:
        template = product.template
        template.gross_price = (template.list_price
            * Decimal('1.09')).quantize(Decimal('0.01'))
        template.save()
    return s


def sell(s, point, *lines, member=None, date=None):
    "Create and return an open counter sale of (product, quantity) lines"
    Sale = Model.get('sale.point.sale')
    sale = Sale(point=point)
    if date:
        sale.date = date
    if member:
        sale.member_code = member.member_number
    for product, quantity in lines:
        line = sale.lines.new()
        line.product = product
        line.quantity = quantity
    sale.save()
    return sale


def pay(sale, method, amount=None):
    """Click Pay (the programmes' subsidies are computed), pay what is
    left (or amount) with method; paid in full, the sale is done"""
    payment = sale.click('pay')
    payment.form.method = method
    if amount is not None:
        payment.form.amount = amount
    payment.execute('pay')
    sale.reload()
    return payment


def clerk(point, login='clerk', name="专柜营业员", groups=("POS",)):
    """Return a user of groups who is a clerk of point: an employee of its
    company on the point's clerks (a clerk sees the points he sells at)"""
    User = Model.get('res.user')
    Group = Model.get('res.group')
    Party = Model.get('party.party')
    Employee = Model.get('company.employee')
    party = Party(name=name)
    party.save()
    employee = Employee(party=party, company=point.company)
    employee.save()
    point.clerks.append(Employee(employee.id))
    point.save()
    user = User(login=login, name=name)
    for group in groups:
        user.groups.append(Group.find([('name', '=', group)])[0])
    user.companies.append(point.company)
    user.company = point.company
    user.employees.append(Employee(employee.id))
    user.employee = Employee(employee.id)
    user.save()
    return user
