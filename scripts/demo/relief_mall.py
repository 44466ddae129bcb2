# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Demo data of relief_mall: the member mall of the 陕西工会 app.

The shop "陕西工会 App 会员商城" sells the listed relief products and the
gift packs of the demo (relief_union's kits whose relief products are all
listed, relief_trace's packed pack) from the demo's warehouse, in Chinese.
Members pay through 云闪付, a payment journal whose payments wait in a
clearing account until the provider settles.  The app's server holds an
API key of the shop, made by the key wizard's method: it is shown once, so
the demo keeps it, with the payment secret, in var/<db>-keys.txt, which
scripts/run prints beside the logins (README: "Member mall").

Members' orders are placed as the app places them: through the API's
routes, called in this process by a WSGI client of trytond's application,
each with its Idempotency-Key; the provider's signed notifications pay all
but the last, which awaits payment (the scheduled action cancels it when
the shop's delay to pay has passed).  The members, the programmes that
subsidise them and the products are those of the earlier demos; the
addresses are the members' own.

Then relief_mall_union.py's union order (B2B), when it is there."""
import datetime as dt
import hashlib
import hmac
import json
import random
import secrets

from proteus import Model, Wizard

from relief_certification import _create
from relief_trace import PACK_CODE
from relief_union import GIFT_PACKS, _listed, _search_read

SHOP = "陕西工会 App 会员商城"
PROVIDER = "云闪付"
KEY_NAME = "陕西工会 App 服务器"
# What each sellable product should have at least, in the warehouse
MIN_STOCK = 200
# Members' orders: (lines, quantity per line); the last one is not paid
ORDERS = [(2, 1), (1, 2), (3, 1), (1, 1), (2, 2)]


def load(config, passwords):
    rng = random.Random(1717)  # the same orders at every build
    Date = Model.get('ir.date', config=config)
    today = Date._proxy.today(config.context)
    secret = secrets.token_urlsafe(24)
    journal = create_payment_journal(config)
    shop = create_shop(config, journal, secret, sellable(config))
    token = create_key(config, shop)
    api = Api(config.database_name, token, secret)
    ensure_stock(config, api, today)
    place_orders(config, rng, api)
    # Not logins (they hold a space): scripts/demo keeps them apart
    passwords["mall API key (陕西工会 App):"] = token
    passwords[f"payment secret ({PROVIDER}):"] = secret
    load_union(config, passwords)


def load_union(config, passwords):
    """The union buyer's order (B2B) of relief_mall_union.py, written
    apart: without that file the member mall stands alone"""
    try:
        import relief_mall_union
    except ModuleNotFoundError as error:
        # Only its absence: an import failing inside it is a fault
        if error.name != 'relief_mall_union':
            raise
        return
    relief_mall_union.load(config, passwords)


def create_payment_journal(config):
    """云闪付: payments booked by the mall's notifications, received in a
    clearing account until the provider transfers them to the bank"""
    from trytond.modules.account.tests.tools import get_accounts
    Account = Model.get('account.account', config=config)
    Company = Model.get('company.company', config=config)
    Journal = Model.get('account.journal', config=config)
    PaymentJournal = Model.get('account.payment.journal', config=config)
    accounts = get_accounts(Company.find()[0], config=config)
    clearing = Account(name=f"{PROVIDER}待清算款", code='2241.01')
    clearing.parent = accounts['payable'].parent
    clearing.type = accounts['payable'].type
    clearing.reconcile = True
    clearing.deferral = True
    clearing.save()
    cash, = Journal.find([('type', '=', 'cash')], limit=1)
    journal = PaymentJournal(name=PROVIDER, process_method='manual')
    journal.clearing_journal = cash
    journal.clearing_account = clearing
    journal.save()
    return journal


def sellable(config):
    """The listed relief products, the kits of listed relief products and
    the packed gift packs"""
    Entry = Model.get('relief.catalogue.entry', config=config)
    Product = Model.get('product.product', config=config)
    products = [Product(p['product']) for p in _listed(config)]
    listed = {e.template.id for e in Entry.find([('state', '=', 'listed')])}
    for name, _, _ in GIFT_PACKS:
        pack, = Product.find([('name', '=', name)])
        if all(c.product.template.id in listed
                for c in pack.template.components
                if c.product.template.relief):
            products.append(pack)
    # relief_trace's pack: packed in the warehouse, in lots
    products += Product.find([('code', '=', PACK_CODE)])
    return products


def create_shop(config, journal, secret, products):
    Lang = Model.get('ir.lang', config=config)
    Location = Model.get('stock.location', config=config)
    Shop = Model.get('web.shop', config=config)
    zh_cn, = Lang.find([('code', '=', 'zh_CN')])
    warehouse, = Location.find([('type', '=', 'warehouse')], limit=1)
    shop = Shop(name=SHOP, type='relief_mall')
    shop.language = zh_cn
    shop.warehouses.append(warehouse)
    shop.products.extend(products)
    shop.mall_payment_journal = journal
    shop.mall_payment_secret = secret
    shop.save()
    return shop


def create_key(config, shop):
    "The key of the app's server, made by the wizard (shown once)"
    create = Wizard('relief.mall.key.create', [shop], config=config)
    create.form.name = KEY_NAME
    create.execute('create_')
    return create.form.token


def ensure_stock(config, api, today):
    """Count in what the mall would refuse for want of stock (the goods of
    which the demo has none, the parts of its kits): the relief products
    in a lot of a later delivery of their certified supplier, so that they
    can be traced and shipped"""
    Inventory = Model.get('stock.inventory', config=config)
    Location = Model.get('stock.location', config=config)
    Product = Model.get('product.product', config=config)
    missing = {}
    for item in _catalogue(api):
        if item['available'] > 0 or item['preorder']:
            continue
        product = Product(item['id'])
        parts = ([(c.product, c.quantity) for c in (
                    product.components or product.template.components)]
            if product.type == 'kit' else [(product, 1)])
        for part, quantity in parts:
            missing[part.id] = MIN_STOCK * quantity
    if not missing:
        return
    warehouse, = Location.find([('type', '=', 'warehouse')], limit=1)
    # The demo's sales to come take stock too (union orders of hundreds)
    with config.set_context(locations=[warehouse.id]):
        for product in Product.find([('id', 'in', list(missing))]):
            missing[product.id] -= min(product.forecast_quantity, 0)
    inventory = Inventory(location=warehouse.storage_location, date=today)
    lots = _lots(config, list(missing), today)
    for product_id, quantity in missing.items():
        inventory.lines.new(product=Product(product_id),
            lot=lots.get(product_id), quantity=quantity)
    inventory.save()
    # What is counted, not what is added: the goods without lot add to
    # what there is
    for line in inventory.lines:
        if not line.lot:
            line.quantity += line.expected_quantity or 0
    inventory.save()
    inventory.click('confirm')


def _catalogue(api):
    items, page = [], 1
    while True:
        answer = api.get('/products', size='100', page=str(page))
        items += answer['items']
        if page * 100 >= answer['total']:
            return items
        page += 1


def _lots(config, product_ids, today):
    """New lots of the relief products, from their certified supplier, by
    product id"""
    certifications = _search_read(config, 'relief.product.certification', [
            ('template.products', 'in', product_ids),
            ('template.relief', '=', True),
            ('state', '=', 'certified'),
            ], ['template.products', 'supplier',
            'supplier_certification.county',
            'supplier_certification.county.name',
            'supplier_certification.poor_people'])
    vlist, produced = [], today - dt.timedelta(days=7)
    for certification in certifications:
        product = certification['template.']['products'][0]
        if product not in product_ids or any(
                v['product'] == product for v in vlist):
            continue
        supplier = certification['supplier_certification.']
        vlist.append({
                'number': f"{produced:%y%m%d}-M{len(vlist) + 1:03d}",
                'product': product,
                'relief_supplier': certification['supplier'],
                'relief_county': supplier['county'],
                'relief_base': supplier['county.']['name'] + "专业合作社基地",
                'production_date': produced,
                'poor_households': max(5, (supplier['poor_people'] or 30)
                    // 3),
                'inspection_date': produced + dt.timedelta(days=2),
                'inspection_result': 'passed',
                'inspection_report': f"JC{today:%Y%m%d}M{len(vlist) + 1:03d}",
                })
    return {lot.product.id: lot for lot in _create(config, 'stock.lot', vlist)}


class Api:
    "The app's server: a client of the mall's routes in this process"

    def __init__(self, database, key, secret):
        from werkzeug.test import Client

        from trytond.wsgi import app
        self.client = Client(app)
        self.prefix = f'/{database}/relief/mall/v1'
        self.key = key
        self.secret = secret

    def _answer(self, response, *expected):
        body = response.get_json()
        if response.status_code not in expected:
            raise RuntimeError(f"mall API: {response.status_code} {body}")
        return body

    def get(self, path, **params):
        return self._answer(self.client.get(self.prefix + path,
                query_string=params,
                headers={'Authorization': f'Bearer {self.key}'}), 200)

    def post(self, path, body, headers=None, expected=(200,)):
        return self._answer(self.client.post(self.prefix + path,
                data=json.dumps(body), content_type='application/json',
                headers={'Authorization': f'Bearer {self.key}',
                    **(headers or {})}), *expected)

    def notify(self, order, transaction, amount):
        "The provider's notification, signed with the payment secret"
        body = json.dumps({'order': order, 'transaction': transaction,
                'amount': amount}).encode()
        signature = hmac.new(self.secret.encode(), body,
            hashlib.sha256).hexdigest()
        return self._answer(self.client.post(
                self.prefix + '/payments/notify', data=body,
                content_type='application/json',
                headers={'X-Payment-Signature': signature}), 200)


def _members(config, rng):
    "Members of the demo with an address"
    members = _search_read(config, 'party.party', [
            ('member_union', '!=', None),
            ('addresses', '!=', None),
            ], ['name', 'member_number', 'addresses'])
    return rng.sample(members, len(ORDERS))


def _address(config, member):
    "The member's address as the app sends it"
    address, = _search_read(config, 'party.address', [
            ('id', '=', member['addresses'][0]),
            ], ['street_unstructured', 'city'])
    return {
        'name': member['name'],
        'street': address['street_unstructured'],
        'city': address['city'] or '',
        'subdivision': 'CN-SN',  # the app knows the province only
        'phone': '139%08d' % (member['id'] % 10 ** 8),  # invented
        }


def place_orders(config, rng, api):
    """Members browse, quote and order; the provider notifies the payments
    of all orders but the last"""
    members = _members(config, rng)
    for i, ((count, quantity), member) in enumerate(
            zip(ORDERS, members), 1):
        number = member['member_number']
        page = api.get('/products', member=number, size='100')
        items = [p for p in page['items'] if p['available'] >= quantity]
        lines = [{'product': p['id'], 'quantity': quantity}
            for p in rng.sample(items, count)]
        api.post('/quote', {'member': number, 'lines': lines})
        order = api.post('/orders', {
                'member': number, 'lines': lines,
                'address': _address(config, member)},
            headers={'Idempotency-Key': f'demo-app-order-{i:06d}'},
            expected=(201,))
        if i < len(ORDERS):
            api.notify(order['number'], f'UPDEMO{i:010d}',
                order['member_pays'])
