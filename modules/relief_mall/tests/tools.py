# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The member mall of the scenarios: relief_subsidy's distributor, unions
and members, with goods in stock, a payment journal and the app's shop;
and a client of the mall's API in the test process."""
import datetime as dt
import hashlib
import hmac
import json
import time

from proteus import Model
from werkzeug.test import Client

from trytond.modules.account.tests.tools import get_accounts
from trytond.modules.relief_subsidy.tests.tools import set_up as set_up_subsidy
from trytond.wsgi import app

PAYMENT_SECRET = 'provider-secret-for-tests'


def set_up(today=None, stock=None):
    """relief_subsidy's set-up, then stock of the products (by name:
    quantity), the provider's payment journal and the mall shop with a key"""
    today = today or dt.date.today()
    s = set_up_subsidy(today)
    Account = Model.get('account.account')
    Journal = Model.get('account.journal')
    Location = Model.get('stock.location')
    Inventory = Model.get('stock.inventory')
    PaymentJournal = Model.get('account.payment.journal')
    Shop = Model.get('web.shop')
    Lang = Model.get('ir.lang')

    accounts = get_accounts()
    clearing = Account(parent=accounts['payable'].parent)
    clearing.name = "云闪付待清算款"
    clearing.type = accounts['payable'].type
    clearing.reconcile = True
    clearing.deferral = True
    clearing.save()
    cash_journal, = Journal.find([('code', '=', 'CASH')])
    s.payment_journal = PaymentJournal(name="云闪付",
        process_method='manual', clearing_journal=cash_journal,
        clearing_account=clearing)
    s.payment_journal.save()
    s.clearing = clearing

    warehouse, = Location.find([('code', '=', 'WH')])
    stock = stock or {'kiwi': 100, 'walnut': 100, 'tea_set': 100}
    inventory = Inventory(location=warehouse.storage_location, date=today)
    for name, quantity in stock.items():
        line = inventory.lines.new()
        line.product = getattr(s, name)
        line.quantity = quantity
    inventory.click('confirm')

    zh, = Lang.find([('code', '=', 'zh_CN')])
    shop = Shop(name="陕西工会 App 会员商城", type='relief_mall')
    shop.language = zh
    shop.warehouses.append(Location(warehouse.id))
    for product in [s.kiwi, s.walnut, s.tea_set]:
        shop.products.append(Model.get('product.product')(product.id))
    shop.mall_payment_journal = s.payment_journal
    shop.mall_payment_secret = PAYMENT_SECRET
    shop.save()
    s.shop = shop
    s.warehouse = warehouse
    return s


class Mall:
    """A client of the member mall API, as the app's server calls it: with
    its key, and when secret is set its requests signed"""

    def __init__(self, database, key, secret=None, clock=time.time):
        self.client = Client(app)
        self.prefix = '/%s/relief/mall/v1' % database
        self.key = key
        self.secret = secret
        self.clock = clock

    def _headers(self, body=b'', headers=None):
        result = {'Authorization': 'Bearer %s' % self.key}
        if self.secret:
            timestamp = str(int(self.clock()))
            result['X-Relief-Timestamp'] = timestamp
            result['X-Relief-Signature'] = hmac.new(self.secret.encode(),
                timestamp.encode() + b'.' + body, hashlib.sha256).hexdigest()
        result.update(headers or {})
        return result

    def get(self, path, **params):
        response = self.client.get(self.prefix + path,
            query_string=params, headers=self._headers())
        return response.status_code, response.get_json()

    def post(self, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else json.dumps(body).encode()
        response = self.client.post(self.prefix + path, data=data,
            content_type='application/json',
            headers=self._headers(data, headers))
        return response.status_code, response.get_json()

    def notify(self, order, transaction, amount, secret=PAYMENT_SECRET):
        "The payment provider's notification, signed with secret"
        body = json.dumps({'order': order, 'transaction': transaction,
                'amount': amount}).encode()
        signature = hmac.new(secret.encode(), body,
            hashlib.sha256).hexdigest()
        response = self.client.post(self.prefix + '/payments/notify',
            data=body, content_type='application/json',
            headers={'X-Payment-Signature': signature})
        return response.status_code, response.get_json()


def address():
    return {'name': "张伟", 'street': "周至县二曲街道中心街 18 号",
        'city': "西安市", 'postal_code': '710400', 'subdivision': 'CN-SN',
        'phone': '13800000001'}

