# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What the member mall's routes do, in a transaction of the shop's
channel user: the routes (routes.py) authenticate, parse and answer; here
the payloads, already checked against their shapes, become Tryton records.

Money is a string of yuan with two decimals ("12.50"), quantities are
numbers of the product's sale unit."""
import datetime as dt
from decimal import Decimal

from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class ApiError(Exception):
    "A refusal: HTTP status, stable code, Chinese message, field"

    def __init__(self, status, code, message, field=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field

    def json(self):
        error = {'code': self.code, 'message': self.message}
        if self.field:
            error['field'] = self.field
        return {'error': error}


def _error(status, code, field=None, **kwargs):
    return ApiError(status, code,
        gettext('relief_mall.msg_api_%s' % code, **kwargs), field)


def money(amount):
    return '%.2f' % (amount or Decimal(0))


def member(shop, number, field='member'):
    "Return the member of number, vouched for by the channel"
    Party = Pool().get('party.party')
    members = Party.search([
            ('member_number', '=', number),
            ('member_union', '!=', None),
            ], limit=1)
    if not members:
        raise _error(404, 'member_unknown', field, number=number)
    return members[0]


def _shop_products(shop, ids=None):
    "The shop's listed products (those of ids)"
    Product = Pool().get('product.product')
    domain = [('web_shops', '=', shop.id), ('salable', '=', True)]
    if ids is not None:
        domain.append(('id', 'in', list(ids)))
    with Transaction().set_context(**shop.get_context()):
        return Product.search(domain, order=[('id', 'ASC')])


def catalogue(shop, params):
    "The page of the shop's products that params ask for"
    pool = Pool()
    Product = pool.get('product.product')
    page, size = params['page'], params['size']
    domain = [('web_shops', '=', shop.id), ('salable', '=', True)]
    if params.get('category') is not None:
        domain.append(('categories_all', '=', params['category']))
    if params.get('q'):
        domain.append(('rec_name', 'ilike', '%%%s%%' % params['q']))
    if params.get('county'):
        domain.append(('template.relief_certifications', 'where', [
                    ('state', '=', 'certified'),
                    ['OR',
                        ('supplier_certification.county.code', '=',
                            params['county']),
                        ('supplier_certification.county.name', '=',
                            params['county']),
                        ],
                    ]))
    party = (member(shop, params['member'])
        if params.get('member') else None)
    with Transaction().set_context(**shop.get_context()):
        total = Product.search_count(domain)
        products = Product.search(domain, order=[('id', 'ASC')],
            offset=(page - 1) * size, limit=size)
    return {
        'items': items(shop, products, party),
        'page': page,
        'size': size,
        'total': total,
        }


def items(shop, products, party=None):
    "The catalogue's items of products, priced for party when given"
    pool = Pool()
    Sale = pool.get('sale.sale')
    Product = pool.get('product.product')
    prices = {}
    if products:
        sale = _sale(shop, party or shop.guest_party)
        sale.lines = [_line(sale, p, 1) for p in products]
        units = (dict(sale.subsidy_units()) if party else {})
        for line in sale.lines:
            prices[line.product] = (line, units.get(line, []))
    available = Sale.mall_available(shop.warehouses, products)
    # What the public trace page shows of the products: not the records
    with without_check_access():
        traces = _trace_uris(products)
        origins = {p: _origin(p) for p in Product.browse(products)}
    result = []
    for product in products:
        line, units = prices[product]
        origin = origins[product]
        subsidy = sum((u for _, u in units), Decimal(0))
        result.append({
                'id': product.id,
                'code': product.code or None,
                'name': product.name,
                'categories': [c.name for c in product.categories],
                'unit': product.sale_uom.symbol,
                'list_price': money(product.list_price_used),
                'member_price': money(line.unit_price),
                'subsidies': [{'programme': p.rec_name, 'amount': money(u)}
                    for p, u in units],
                'member_pays': money(line.unit_price - subsidy),
                'available': max(available.get(product.id, 0), 0),
                'preorder': bool(product.template.mall_preorder),
                'county': origin.get('county'),
                'supplier': origin.get('supplier'),
                'trace_url': traces.get(product.id),
                })
    return result


def _origin(product):
    "The county and supplier of the product's certification"
    templates = product.relief_templates
    for template in templates:
        for certification in template.relief_certifications:
            if certification.state != 'certified':
                continue
            county = (certification.supplier_certification.county
                if certification.supplier_certification else None)
            return {
                'county': county.name if county else None,
                'supplier': certification.supplier.rec_name,
                }
    return {}


def _trace_uris(products):
    "The trace page of the last lot of each product, by id"
    Lot = Pool().get('stock.lot')
    lots = Lot.search([
            ('product', 'in', [p.id for p in products]),
            ], order=[('id', 'DESC')], limit=10 * len(products) or 1)
    result = {}
    for lot in lots:
        if lot.product.id not in result and lot.trace_uri:
            result[lot.product.id] = lot.trace_uri
    return result


def _sale(shop, party):
    sale = shop.get_sale(party=party)
    sale.sale_date = None
    sale.origin = None
    sale.relief_coupon = None
    return sale


def _line(sale, product, quantity):
    Line = Pool().get('sale.line')
    line = Line(sale=sale, type='line', product=product,
        quantity=quantity, unit=product.sale_uom)
    with Transaction().set_context(**sale.web_shop.get_context()):
        line.on_change_product()
        line.quantity = quantity
        line.on_change_quantity()
    return line


def build(shop, payload):
    """Return the unsaved sale of payload's member and lines; refuse
    products the shop does not sell, quantities beyond its limits"""
    party = member(shop, payload['member'])
    lines = payload['lines']
    if len(lines) > shop.mall_max_lines:
        raise _error(422, 'too_many_lines', 'lines',
            count=len(lines), limit=shop.mall_max_lines)
    ids = {l['product'] for l in lines}
    products = {p.id: p for p in _shop_products(shop, ids)}
    sale = _sale(shop, party)
    sale_lines = []
    for i, line in enumerate(lines):
        field = 'lines[%d]' % i
        product = products.get(line['product'])
        if product is None:
            raise _error(422, 'product_unknown', field + '.product',
                product=line['product'])
        quantity = line['quantity']
        if quantity > shop.mall_max_quantity:
            raise _error(422, 'quantity_limit', field + '.quantity',
                quantity=quantity, limit=shop.mall_max_quantity)
        rounded = product.sale_uom.round(quantity)
        if rounded != quantity or quantity <= 0:
            raise _error(422, 'quantity_invalid', field + '.quantity',
                quantity=quantity, unit=product.sale_uom.rec_name)
        sale_lines.append(_line(sale, product, quantity))
    sale.lines = sale_lines
    if payload.get('coupon'):
        sale.relief_coupon = payload['coupon']
    return sale


def quote(shop, payload):
    "The prices, programmes' shares and member's limits; writes nothing"
    sale = build(shop, payload)
    if sale.relief_coupon:
        # Refuses an unknown, expired or used coupon
        number = sale._relief_coupon_number(sale._subsidy_date())
    else:
        number = None
    units = sale.subsidy_units(number)
    lines, total, subsidies = [], Decimal(0), {}
    for line, line_units in units:
        quantity = Decimal(str(line.quantity))
        shares = []
        for program, unit in line_units:
            amount = sale.currency.round(unit * quantity)
            shares.append({'programme': program.rec_name,
                    'amount': money(amount)})
            subsidies.setdefault(program, Decimal(0))
            subsidies[program] += amount
        pays = sale.currency.round(line.unit_price * quantity) - sum(
            (Decimal(s['amount']) for s in shares), Decimal(0))
        total += pays
        lines.append({
                'product': line.product.id,
                'name': line.product.name,
                'quantity': line.quantity,
                'unit_price': money(line.unit_price),
                'subsidies': shares,
                'member_pays': money(pays),
                })
    return {
        'member': sale.party.member_number,
        'lines': lines,
        'member_pays': money(total),
        'subsidies': money(sum(subsidies.values(), Decimal(0))),
        'limits': limits(sale.party, subsidies),
        }


def limits(party, subsidies=None):
    """What the member has left of each running programme's limit, and
    what the order would leave"""
    pool = Pool()
    Program = pool.get('relief.subsidy.program')
    Consumption = pool.get('relief.subsidy.consumption')
    Date = pool.get('ir.date')
    Company = pool.get('company.company')
    company = Company(Transaction().context['company'])
    today = Date.today()
    result = []
    for program in Program.get_applicable(company, today):
        if program.member_limit is None:
            continue
        start = program.period_start(today)
        consumed = Consumption.search([
                ('program', '=', program.id),
                ('member', '=', party.id),
                ('period', '=', start),
                ], limit=1)
        used = consumed[0].amount if consumed else Decimal(0)
        left = max(program.member_limit - used, Decimal(0))
        order = (subsidies or {}).get(program, Decimal(0))
        result.append({
                'programme': program.rec_name,
                'limit': money(program.member_limit),
                'period_start': start.isoformat(),
                'left': money(left),
                'left_after': money(max(left - order, 0)),
                })
    return result


def place(shop, key, digest, payload):
    """Create, quote and confirm the order of payload; the same key
    answers the order it made (409 for another payload)"""
    pool = Pool()
    Sale = pool.get('sale.sale')
    existing = find(shop, key)
    if existing is not None:
        if existing.mall_request != digest:
            raise _error(409, 'idempotency_conflict', 'Idempotency-Key',
                key=key)
        return existing, False
    sale = build(shop, payload)
    # First: the orders of the last units wait on each other, not after
    # their other work (and a second try of this call re-reads them)
    Sale.mall_lock_stock([l.product for l in sale.lines])
    sale.web_id = key
    sale.mall_request = digest
    sale.shipment_address = address(sale.party, payload['address'])
    sale.mall_pay_before = dt.datetime.now() + shop.mall_unpaid_delay
    sale.save()
    Sale.quote([sale])
    sale.check_mall_stock()
    Sale.confirm([sale])
    return Sale(sale.id), True


def find(shop, key):
    Sale = Pool().get('sale.sale')
    sales = Sale.search([
            ('web_shop', '=', shop.id),
            ('web_id', '=', key),
            ], limit=1)
    return sales[0] if sales else None


def address(party, data):
    """Return the party's address of data, added to the party when it has
    none like it (members move; their past orders keep theirs)"""
    pool = Pool()
    Address = pool.get('party.address')
    Country = pool.get('country.country')
    Subdivision = pool.get('country.subdivision')
    values = {
        'party_name': data['name'],
        'street': data['street'],
        'city': data.get('city') or '',
        'postal_code': data.get('postal_code') or '',
        }
    for address in party.addresses:
        if all((getattr(address, k) or '') == v for k, v in values.items()):
            return address
    countries = Country.search([('code', '=', 'CN')], limit=1)
    subdivision = None
    if data.get('subdivision'):
        subdivisions = Subdivision.search([
                ('code', '=', data['subdivision']),
                ], limit=1)
        if not subdivisions:
            raise _error(422, 'subdivision_unknown', 'address.subdivision',
                subdivision=data['subdivision'])
        subdivision, = subdivisions
    address = Address(party=party, delivery=True,
        country=countries[0] if countries else None,
        subdivision=subdivision, **values)
    address.save()
    if data.get('phone'):
        _phone(party, data['phone'])
    return address


def _phone(party, phone):
    Mechanism = Pool().get('party.contact_mechanism')
    if not any(m.value == phone for m in party.contact_mechanisms):
        Mechanism(party=party, type='mobile', value=phone).save()


def order(shop, number, member_number=None):
    "The shop's order of number (of the member when given)"
    Sale = Pool().get('sale.sale')
    domain = [('web_shop', '=', shop.id), ('number', '=', number)]
    if member_number:
        domain.append(('party.member_number', '=', member_number))
    sales = Sale.search(domain, limit=1)
    if not sales:
        raise _error(404, 'order_unknown', 'number', number=number)
    return sales[0]


def status(sale):
    "The order's status for the member"
    # From its shipments and moves, which the channel need not read
    with without_check_access():
        return _status(sale.__class__(sale.id))


def _status(sale):
    if isinstance(sale.origin, sale.__class__):
        return 'returned' if sale.shipment_state == 'sent' else (
            'return_requested')
    if sale.state in {'draft', 'quotation', 'cancelled'}:
        return 'cancelled'
    if sale.mall_awaits_payment:
        return 'awaiting_payment'
    if sale.mall_cancelled:
        return 'cancelled'
    if sale.mall_shipped:
        return 'shipped'
    return 'paid'


def order_json(sale):
    lines = []
    for line in sale.lines:
        if line.type != 'line' or not line.product:
            continue
        subsidy = sum((l.amount for l in line.subsidy_lines
                if l.state == 'confirmed' and not l.reversal_of),
            Decimal(0))
        lines.append({
                'product': line.product.id,
                'name': line.product.name,
                'quantity': line.quantity,
                'unit_price': money(line.unit_price),
                'full_unit_price': money(line.subsidy_base_price
                    if line.subsidy_base_price is not None
                    else line.unit_price),
                'subsidy': money(subsidy),
                'amount': money(line.amount),
                })
    # What the provider refunded: the payments failed after the fact
    refunded = sum((p.amount for p in sale.payments
            if p.kind == 'receivable' and p.state == 'failed'), Decimal(0))
    return {
        'number': sale.number,
        'member': sale.party.member_number,
        'status': status(sale),
        'refunded': money(refunded),
        'pay_before': (sale.mall_pay_before.replace(microsecond=0)
            .isoformat() + 'Z') if sale.mall_pay_before else None,
        'member_pays': money(sale.total_amount),
        'subsidies': money(sale.subsidy_amount),
        'lines': lines,
        }


def orders(shop, member_number, page, size):
    Sale = Pool().get('sale.sale')
    party = member(shop, member_number)
    domain = [('web_shop', '=', shop.id), ('party', '=', party.id),
        ('number', '!=', None)]
    total = Sale.search_count(domain)
    sales = Sale.search(domain, order=[('id', 'DESC')],
        offset=(page - 1) * size, limit=size)
    return {'items': [order_json(s) for s in sales], 'page': page,
        'size': size, 'total': total}


def cancel(shop, number, member_number=None):
    """Cancel an order whose goods have not left: not paid, its
    subsidies, limits and stock are given back; paid, they are credited
    and the member refunded"""
    Sale = Pool().get('sale.sale')
    sale = order(shop, number, member_number)
    # First: a payment notified meanwhile is booked before or after
    Sale.mall_lock([sale])
    state = status(sale)
    if state == 'cancelled':
        return sale
    if state == 'awaiting_payment':
        Sale.mall_cancel([sale])
    elif state == 'paid':
        with without_check_access():
            # Fixed by the code: the channel does not write in the books
            Sale.mall_cancel_paid([sale])
    else:
        raise _error(409, 'cancel_refused', 'number',
            number=number, state=gettext(
                'relief_mall.msg_api_status_%s' % state))
    return Sale(sale.id)


def return_(shop, number, payload):
    """Return delivered goods: a return sale the back office receives and
    refunds; its quotation credits the returned units' subsidies"""
    pool = Pool()
    Sale = pool.get('sale.sale')
    Product = pool.get('product.product')
    sale = order(shop, number)
    # First: two returns of the same goods, one after the other
    Sale.mall_lock([sale])
    if status(sale) != 'shipped':
        raise _error(409, 'return_refused', 'number', number=number,
            state=gettext('relief_mall.msg_api_status_%s' % status(sale)))
    returnable = sale.mall_returnable()
    products = {p.id: p for p in Product.search(
            [('id', 'in', [l['product'] for l in payload['lines']])])}
    quantities = {}
    for i, line in enumerate(payload['lines']):
        field = 'lines[%d]' % i
        product = products.get(line['product'])
        left = returnable.get(product, 0) - quantities.get(product, 0)
        if product is None or line['quantity'] > left:
            raise _error(422, 'return_quantity', field + '.quantity',
                product=product.rec_name if product else line['product'],
                quantity=line['quantity'], left=max(left, 0))
        quantities[product] = quantities.get(product, 0) + line['quantity']
    with without_check_access():
        return_sale = Sale.mall_return(sale, quantities)
    return Sale(return_sale.id)


def pay(shop, payload):
    "Book the provider's notification of payload"
    Notification = Pool().get('relief.mall.payment.notification')
    sale = order(shop, payload['order'])
    amount = Decimal(payload['amount'])
    Notification.receive(shop, sale, payload['transaction'], amount)
    Sale = Pool().get('sale.sale')
    return Sale(sale.id)
