# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The member mall as a web shop, and the keys its channel calls it with.

A channel (the 陕西工会 app's server) holds an API key of its shop: a
random token shown once, stored as its SHA-256 (a leaked table gives no
key), revoked by deactivating it; several may be active while a channel
rotates.  The key is not a Tryton user's: it opens the mall's routes only,
which run as the shop's channel user (see routes.py)."""
import datetime as dt
import hashlib
import secrets

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import ShopError

KEY_PREFIX = 'rmk_'


def key_digest(key):
    "The stored form of an API key"
    return hashlib.sha256(key.encode('utf-8')).hexdigest()


class Shop(metaclass=PoolMeta):
    __name__ = 'web.shop'

    _mall = {'invisible': Eval('type') != 'relief_mall'}

    mall_keys = fields.One2Many(
        'relief.mall.key', 'shop', "API Keys", readonly=True,
        states=_mall, help="The keys the channel calls the mall with.")
    mall_signature_secret = fields.Char(
        "Request Signing Secret", strip=False, states=_mall,
        help="When set, every request must carry an HMAC-SHA256 of its "
        "timestamp and body made with this secret.")
    mall_payment_secret = fields.Char(
        "Payment Notification Secret", strip=False,
        states={
            'invisible': Eval('type') != 'relief_mall',
            'required': Eval('type') == 'relief_mall',
            },
        help="The secret the payment provider signs its notifications "
        "with (HMAC-SHA256).")
    mall_payment_journal = fields.Many2One(
        'account.payment.journal', "Payment Journal",
        domain=[('company', '=', Eval('company', -1))],
        states={
            'invisible': Eval('type') != 'relief_mall',
            'required': Eval('type') == 'relief_mall',
            },
        help="The journal of the payments the provider notifies "
        "(with the clearing account of the provider).")
    mall_unpaid_delay = fields.TimeDelta(
        "Delay to Pay",
        states={
            'invisible': Eval('type') != 'relief_mall',
            'required': Eval('type') == 'relief_mall',
            },
        help="An order not paid within this delay is cancelled: its "
        "stock, subsidies and member limits are given back.")
    mall_max_lines = fields.Integer(
        "Lines per Order", states=_mall,
        domain=[('mall_max_lines', '>', 0)])
    mall_max_quantity = fields.Integer(
        "Quantity per Line", states=_mall,
        domain=[('mall_max_quantity', '>', 0)])

    del _mall

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.type.selection.append(('relief_mall', "Member Mall"))
        cls._buttons.update({
                'mall_create_key': {
                    'invisible': Eval('type') != 'relief_mall',
                    'depends': ['type'],
                    },
                })

    @classmethod
    def default_mall_unpaid_delay(cls):
        return dt.timedelta(minutes=30)

    @classmethod
    def default_mall_max_lines(cls):
        return 50

    @classmethod
    def default_mall_max_quantity(cls):
        return 1000

    @classmethod
    def on_modification(cls, mode, shops, field_names=None):
        super().on_modification(mode, shops, field_names=field_names)
        if mode in {'create', 'write'}:
            cls.mall_grant_companies(shops)

    @classmethod
    def mall_grant_companies(cls, shops):
        """Let the channel user work for the companies of the mall shops:
        Tryton reads a user's company (stock, rules) among its companies"""
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        user = User(ModelData.get_id('relief_mall', 'user_mall_channel'))
        companies = {s.company for s in shops if s.type == 'relief_mall'}
        missing = companies - set(user.companies)
        if missing:
            User.write([user], {
                    'companies': [('add', [c.id for c in missing])],
                    })

    @classmethod
    @ModelView.button_action('relief_mall.wizard_key_create')
    def mall_create_key(cls, shops):
        pass

    @classmethod
    def from_key(cls, key):
        "Return the mall shop of an active API key, or None"
        Key = Pool().get('relief.mall.key')
        if not key or not key.startswith(KEY_PREFIX) or len(key) > 100:
            return None
        keys = Key.search([('digest', '=', key_digest(key))], limit=1)
        if not keys:
            return None
        shop = keys[0].shop
        if not shop.active or shop.type != 'relief_mall':
            return None
        return shop

    def get_sale(self, party=None):
        sale = super().get_sale(party=party)
        if self.type == 'relief_mall':
            # Invoiced when the goods leave: an order cancelled before
            # has no invoice to credit, only a payment to refund
            sale.invoice_method = 'fulfillment'
        return sale


class Key(DeactivableMixin, ModelSQL, ModelView):
    "Member Mall API Key"
    __name__ = 'relief.mall.key'
    __string__ = "Member Mall API Key"

    shop = fields.Many2One(
        'web.shop', "Shop", required=True, readonly=True,
        ondelete='CASCADE')
    name = fields.Char("Name", required=True, readonly=True,
        help="Who holds the key, e.g. the app's production server.")
    prefix = fields.Char("Prefix", readonly=True,
        help="The start of the key, to tell keys apart.")
    digest = fields.Char("Digest", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('digest_unique', Unique(t, t.digest),
                'relief_mall.msg_key_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.digest, Index.Equality())))
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]
        cls.__access__.add('shop')

    @classmethod
    def generate(cls, shop, name):
        "Create a key of shop; return it with its token (shown once)"
        token = KEY_PREFIX + secrets.token_urlsafe(32)
        key, = cls.create([{
                    'shop': shop.id,
                    'name': name,
                    'prefix': token[:len(KEY_PREFIX) + 6],
                    'digest': key_digest(token),
                    }])
        return key, token

    def get_rec_name(self, name):
        return '%s (%s…)' % (self.name, self.prefix)

    @classmethod
    def check_modification(cls, mode, keys, values=None, external=False):
        super().check_modification(
            mode, keys, values=values, external=external)
        # A key is made by the wizard and only revoked (active) after
        if (external and mode == 'write'
                and set(values or {}) - {'active'}):
            raise ShopError(gettext('relief_mall.msg_key_modify'))


class KeyCreateStart(ModelView):
    "Create API Key"
    __name__ = 'relief.mall.key.create.start'
    name = fields.Char("Name", required=True)


class KeyCreateResult(ModelView):
    "API Key Created"
    __name__ = 'relief.mall.key.create.result'
    token = fields.Char("Key", readonly=True,
        help="Give it to the channel now: it is not shown again.")


class KeyCreate(Wizard):
    "Create API Key"
    __name__ = 'relief.mall.key.create'
    start = StateView('relief.mall.key.create.start',
        'relief_mall.key_create_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Create", 'create_', 'tryton-ok', default=True),
            ])
    create_ = StateTransition()
    result = StateView('relief.mall.key.create.result',
        'relief_mall.key_create_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_create_(self):
        Key = Pool().get('relief.mall.key')
        _, token = Key.generate(self.record, self.start.name)
        self.result.token = token
        return 'result'

    def default_result(self, fields):
        return {'token': self.result.token}
