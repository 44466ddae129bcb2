# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The devices' feeds: a smart cabinet's operator system, or a counter's
till after it lost the network, sends the sales it made (each with the
device's own transaction id) and its stock counts (routes.py).

A point's device is known by its device id and signs each request with the
point's secret (HMAC-SHA256, like the mall's channels): the secret is an
HMAC key, so it is stored as it is, but no user reads it: the wizard shows
it once, and field access hides it from every group.

Each sale is taken exactly once: (point, device transaction id) is unique
in the database, and the batches of one device are taken one after the
other (the point's row is locked), so a batch sent twice, late or out of
order takes only what was not taken.  A taken sale is booked as the device
recorded it (its prices, its payments: the money was collected), with the
running programmes' subsidies computed here; a subsidy that a budget or a
member limit no longer allows is left out, never the sale (see
feed_check_subsidies), and a sale whose payments do not settle it stays
open, flagged for finance (feed_exception)."""
import datetime as dt
import re
import secrets
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace

from sql.aggregate import Sum

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.product import round_price
from trytond.modules.relief.totals import (
    LOCK_NOT_AVAILABLE, _RowsReleased, _wait, insert_rows, lock_rows)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import timezone as tz
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

DEVICE_PREFIX = 'rcd_'
DEVICE = re.compile(r'^rcd_[A-Za-z0-9_-]{8,40}$')
TRANSACTION = re.compile(r'^[A-Za-z0-9_.:/-]{1,64}$')
CODE = re.compile(r'^\S{1,64}$')
MAX_SALES = 500
MAX_LINES = 100
MAX_COUNTS = 2000
# A device's clock may run ahead a little; later than this is refused
FUTURE = dt.timedelta(minutes=10)


class FeedRefusal(Exception):
    "A row of a feed that is refused: field (JSON path) and message"

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


class Point(metaclass=PoolMeta):
    __name__ = 'sale.point'

    feed_device = fields.Char(
        "Device ID", readonly=True, strip=False,
        help="The id the point's device (a smart cabinet's operator "
        "system, a counter's till) sends its sales and counts with.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('feed_device_unique', Unique(t, t.feed_device),
                'relief_counter.msg_feed_device_unique'),
            ]
        cls._buttons.update({
                'feed_create_secret': {
                    'invisible': ~Eval('id', -1) | (Eval('id', -1) < 0),
                    'depends': ['id'],
                    },
                })

    @classmethod
    def copy(cls, points, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('feed_device')
        return super().copy(points, default=default)

    @classmethod
    @ModelView.button_action('relief_counter.wizard_feed_secret')
    def feed_create_secret(cls, points):
        pass

    def feed_new_secret(self):
        "Give the point a device id (once) and a new secret; return them"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        Secret = pool.get('relief.counter.device.secret')
        device = (self.feed_device
            or DEVICE_PREFIX + secrets.token_urlsafe(12))
        if device != self.feed_device:
            self.__class__.write([self], {'feed_device': device})
        secret = Secret.renew(self)
        # The feeds run as the channel user in the point's company, which
        # Tryton reads among the user's companies
        user = User(ModelData.get_id(
                'relief_counter', 'user_counter_channel'))
        if self.company not in user.companies:
            with without_check_access():
                User.write([user], {
                        'companies': [('add', [self.company.id])],
                        })
        return device, secret

    @classmethod
    def from_device(cls, device):
        "Return the point of the device id, or None"
        if not device or not DEVICE.fullmatch(device):
            return None
        points = cls.search([('feed_device', '=', device)], limit=1)
        if not points:
            return None
        return points[0]

    @property
    def feed_secret(self):
        "The secret of the point's device (None: no device)"
        Secret = Pool().get('relief.counter.device.secret')
        return Secret.get(self)

    def feed_lock(self):
        "Take the device's batches one after the other"
        table = self.__table__()
        lock_rows(table, table.id == self.id, self.rec_name)

    def feed_expected(self, products):
        """Return {product: quantity} at the point's storage location, in
        the product's default unit, less what sales not yet posted took
        (their stock moves are made when they are posted)"""
        pool = Pool()
        Date = pool.get('ir.date')
        Product = pool.get('product.product')
        Sale = pool.get('sale.point.sale')
        Line = pool.get('sale.point.sale.line')
        Uom = pool.get('product.uom')
        if not products:
            return {}
        ids = sorted({p.id for p in products})
        with Transaction().set_context(company=self.company.id):
            today = Date.today()
        with Transaction().set_context(
                company=self.company.id, stock_date_end=today):
            pbl = Product.products_by_location(
                [self.storage_location.id], with_childs=True,
                grouping_filter=(ids,))
        sale, line = Sale.__table__(), Line.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*line.join(sale, condition=line.sale == sale.id
                ).select(line.product, Sum(line.quantity),
                where=(sale.point == self.id)
                & sale.state.in_(['open', 'done'])
                & line.product.in_(ids),
                group_by=[line.product]))
        sold = dict(cursor)
        result = {}
        for product in Product.browse(ids):
            quantity = pbl.get((self.storage_location.id, product.id), 0)
            if sold.get(product.id):
                quantity -= Uom.compute_qty(product.sale_uom,
                    sold[product.id], product.default_uom, round=False)
            result[product] = product.default_uom.round(quantity)
        return result

    def feed_lots(self, products):
        """Return {product: lot} that the device's sales take, as a clerk's
        line does: the first lot to expire that can still be sold, else
        the last one the location had (its stock goes below zero)"""
        pool = Pool()
        Date = pool.get('ir.date')
        LotStock = pool.get('relief.counter.lot_stock')
        products = [p for p in products if p]
        if not products:
            return {}
        with Transaction().set_context(company=self.company.id):
            today = Date.today()
        rows = LotStock.search([
                ('location', '=', self.storage_location.id),
                ('product', 'in', [p.id for p in products]),
                ('lot.relief_blocked', '!=', True),
                ['OR',
                    ('expiration_date', '=', None),
                    ('expiration_date', '>=', today),
                    ],
                ])
        first, last = {}, {}
        for row in rows:
            if row.quantity > 0:
                first.setdefault(row.product, row.lot)
            last[row.product] = row.lot
        return {**last, **first}

    def feed_count(self, payload):
        """Confirm the device's count as an inventory of the storage
        location; return the inventory and [(product, expected, counted)]"""
        pool = Pool()
        Date = pool.get('ir.date')
        Inventory = pool.get('stock.inventory')
        Sale = pool.get('sale.point.sale')
        counts = self.feed_count_lines(payload)
        self.feed_lock()
        # The goods that sales took leave the location when the sales are
        # posted: post them first, or the count would take them twice
        done = Sale.search([
                ('point', '=', self.id),
                ('state', '=', 'done'),
                ])
        if done:
            # The count's consequence, not a right of the device
            with without_check_access():
                Sale.post(done)
        with Transaction().set_context(company=self.company.id):
            today = Date.today()
        inventory = Inventory(
            location=self.storage_location, date=today,
            company=self.company, empty_quantity='keep')
        inventory.lines = [{'product': p, 'lot': l, 'quantity': q}
            for p, l, q in self.feed_count_lots(counts, today)]
        inventory.save()
        inventory = Inventory(inventory.id)
        expected, counted = defaultdict(float), defaultdict(float)
        for line in inventory.lines:
            expected[line.product] += line.expected_quantity
            counted[line.product] += line.quantity
        Inventory.confirm([inventory])
        return inventory, [(p, p.default_uom.round(expected[p]),
                counts[p]) for p in counts]

    def feed_count_lots(self, counts, date):
        """Return [(product, lot, quantity)] of the counts: a product's
        count fills its lots from the last to expire (the shelves keep
        those: sales take the first to expire), the rest of it to the
        first to expire"""
        pool = Pool()
        Product = pool.get('product.product')
        Lot = pool.get('stock.lot')
        with Transaction().set_context(
                company=self.company.id, stock_date_end=date):
            pbl = Product.products_by_location(
                [self.storage_location.id], with_childs=True,
                grouping=('product', 'lot'),
                grouping_filter=([p.id for p in counts],))
        lots = defaultdict(list)
        for (_, product, lot), quantity in pbl.items():
            if lot is not None:
                lots[product].append((Lot(lot), quantity))
        result = []
        for product, counted in counts.items():
            rows = sorted(lots.get(product.id, []), key=lambda r: (
                    r[0].shelf_life_expiration_date or dt.date.max,
                    r[0].id), reverse=True)
            if not rows:
                result.append((product, None, counted))
                continue
            for index, (lot, quantity) in enumerate(rows):
                take = counted if index == len(rows) - 1 else min(
                    counted, max(quantity, 0))
                result.append((product, lot, take))
                counted -= take
        return result

    def feed_count_lines(self, payload):
        "Return {product: counted quantity}; refuse a wrong row"
        Product = Pool().get('product.product')
        rows = payload.get('counts')
        if not isinstance(rows, list) or not 0 < len(rows) <= MAX_COUNTS:
            raise FeedRefusal('counts', gettext(
                    'relief_counter.msg_feed_counts_invalid',
                    limit=MAX_COUNTS))
        codes = {r.get('product') for r in rows if isinstance(r, dict)}
        codes = [c for c in codes if isinstance(c, str) and CODE.match(c)]
        with Transaction().set_context(company=self.company.id):
            products = {p.code: p for p in Product.search([
                        ('code', 'in', codes),
                        ('type', '=', 'goods'),
                        ])}
        counts = {}
        for row, raw in enumerate(rows, 1):
            field = 'counts[%d]' % (row - 1)
            code = raw.get('product') if isinstance(raw, dict) else None
            if code not in products:
                raise FeedRefusal(field + '.product', gettext(
                        'relief_counter.msg_feed_count_product',
                        row=row, code=code))
            quantity = _number(raw.get('quantity'))
            if quantity is None or quantity < 0:
                raise FeedRefusal(field + '.quantity', gettext(
                        'relief_counter.msg_feed_count_quantity',
                        row=row, value=raw.get('quantity')))
            product = products[code]
            if product in counts:
                raise FeedRefusal(field + '.product', gettext(
                        'relief_counter.msg_feed_count_twice',
                        row=row, code=code))
            counts[product] = float(quantity)
        return counts


class DeviceSecret(ModelSQL):
    """Device Secret

    The HMAC key a point's device signs its requests with: no user reads
    it (default deny, no group), the wizard shows it once and the routes
    read it as the system."""
    __name__ = 'relief.counter.device.secret'
    __string__ = "Device Secret"

    point = fields.Many2One(
        'sale.point', "Point", required=True, ondelete='CASCADE')
    secret = fields.Char("Secret", required=True, strip=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('point_unique', Unique(t, t.point),
                'relief_counter.msg_feed_device_unique'),
            ]

    @classmethod
    def renew(cls, point):
        "Replace the secret of point's device; return the new one"
        secret = secrets.token_urlsafe(32)
        # The button is the sale administrators'; the secret no user's
        with without_check_access():
            cls.delete(cls.search([('point', '=', point.id)]))
            cls.create([{'point': point.id, 'secret': secret}])
        return secret

    @classmethod
    def get(cls, point):
        with without_check_access():
            records = cls.search([('point', '=', point.id)], limit=1)
        return records[0].secret if records else None


class PaymentMethod(metaclass=PoolMeta):
    __name__ = 'sale.point.payment.method'

    code = fields.Char("Code", strip=False,
        help="The code the devices name the method with in their feeds.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.company, t.code),
                'relief_counter.msg_payment_method_code_unique'),
            ]


def _zone(company):
    "The time zone of the company's days"
    return (tz.get_tzinfo(company.timezone) if company.timezone
        else tz.SERVER)


def _number(value):
    "A JSON number (or a numeric string) as Decimal; None if not one"
    if isinstance(value, bool) or not isinstance(
            value, (int, Decimal, float, str)):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.point.sale'

    feed_transaction = fields.Char(
        "Device Transaction", readonly=True, strip=False,
        help="The id the point's device gave the sale: a sale is taken "
        "once per id.")
    feed_time = fields.DateTime("Device Time", readonly=True)
    feed_exception = fields.Text(
        "Feed Exception", readonly=True,
        help="What finance must look at in a sale the device sent: a "
        "subsidy left out, payments that do not settle it, an unknown "
        "member number.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('feed_transaction_unique',
                Unique(t, t.point, t.feed_transaction),
                'relief_counter.msg_feed_transaction_unique'),
            ]
        cls._sql_indexes.add(Index(t,
                (t.point, Index.Equality()),
                (t.feed_transaction, Index.Equality()),
                where=t.feed_transaction != None))  # noqa: E711

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('feed_transaction')
        default.setdefault('feed_time')
        default.setdefault('feed_exception')
        return super().copy(sales, default=default)

    @classmethod
    def feed_take(cls, point, entries):
        """Take the device's sales not taken yet; return the answer of each
        entry and the products of the point below zero"""
        point.feed_lock()
        answers, taken = cls.feed_read(point, entries)
        # sale_point keeps the cash of a point in its open session
        if any(p.method.cash for s in taken for p in s.payments):
            cls.feed_session(point)
        # In the devices' order of time: the subsidies' running totals
        # follow it
        taken.sort(key=lambda s: s.time)
        cls.feed_insert(point, taken)
        by_id = {s.id: s.answer for s in taken}
        for answer in answers:
            if answer.get('status') == 'taken':
                answer.update(by_id[answer['id']])
        products = {l.product for s in taken for l in s.lines}
        below = sorted(((p, q) for p, q in point.feed_expected(
                    products).items() if q < 0), key=lambda x: x[0].code)
        return answers, below

    @classmethod
    def feed_session(cls, point):
        """Open the point's cash session before its batch.

        sale_point opens one under a table lock taken with NOWAIT: two
        points' batches opening theirs at once would give the second a 503
        once its retries are spent.  Here the second waits for the first
        to end, then runs again (as lock_rows waits for rows)."""
        Session = Pool().get('sale.point.cash.session')
        if Session.search([
                    ('point', '=', point.id),
                    ('state', '=', 'open'),
                    ], limit=1):
            return
        transaction = Transaction()
        database = transaction.database
        if database.has_select_for():
            try:
                database.lock(transaction.connection, Session._table)
            except backend.DatabaseOperationalError as exception:
                if getattr(exception, 'sqlstate', None) != LOCK_NOT_AVAILABLE:
                    raise
                transaction.rollback()
                _wait(database, ('LOCK TABLE "%s" IN EXCLUSIVE MODE'
                        % Session._table, ()), point.rec_name)
                raise _RowsReleased()
            # trytond 8.0's record of what Model.lock took: get_current's
            # lock is held, it does not start the call again
            transaction._locked_tables.add(Session._table)
        Session.get_current(point)

    @classmethod
    def feed_read(cls, point, entries):
        """Return the answers of the entries (already taken or refused
        filled in) and the sales to take (feed_values)"""
        pool = Pool()
        Product = pool.get('product.product')
        Method = pool.get('sale.point.payment.method')
        Party = pool.get('party.party')
        ids = [e.get('id') for e in entries if isinstance(e, dict)
            and isinstance(e.get('id'), str)]
        existing = {s.feed_transaction: s for s in cls.search([
                    ('point', '=', point.id),
                    ('feed_transaction', 'in', ids),
                    ])}
        codes = {l.get('product') for e in entries if isinstance(e, dict)
            for l in (e.get('lines') or []) if isinstance(l, dict)}
        with Transaction().set_context(company=point.company.id):
            products = {p.code: p for p in Product.search([
                        ('code', 'in', [c for c in codes
                                if isinstance(c, str)]),
                        ('salable', '=', True),
                        ])}
        methods = {m.code: m for m in Method.search([
                    ('company', '=', point.company.id),
                    ('code', '!=', None),
                    ])}
        numbers = {e.get('member') for e in entries if isinstance(e, dict)
            and isinstance(e.get('member'), str)}
        members = {m.member_number: m for m in Party.search([
                    ('member_number', 'in', list(numbers)),
                    ('member_union', '!=', None),
                    ])} if numbers else {}
        context = {'products': products, 'methods': methods,
            'members': members, 'prices': {}, 'seen': set(),
            'lots': point.feed_lots(products.values())}
        answers, taken = [], []
        for row, entry in enumerate(entries, 1):
            id_ = entry.get('id') if isinstance(entry, dict) else None
            answer = {'id': id_}
            answers.append(answer)
            if id_ in existing or id_ in context['seen']:
                answer['status'] = 'already_taken'
                if id_ in existing:
                    answer.update(cls.feed_answer(existing[id_]))
                continue
            try:
                sale = cls.feed_values(point, row, entry, context)
            except FeedRefusal as refusal:
                answer.update(status='refused', field=refusal.field,
                    message=refusal.message)
                continue
            context['seen'].add(id_)
            answer['status'] = 'taken'
            taken.append(sale)
        return answers, taken

    @classmethod
    def feed_values(cls, point, row, entry, context):
        """Return the sale of the entry (its row, lines, payments, member);
        refuse a wrong field"""
        field = 'sales[%d]' % (row - 1)
        if not isinstance(entry, dict) or not isinstance(
                entry.get('id'), str) or not TRANSACTION.fullmatch(
                entry['id']):
            raise FeedRefusal(field + '.id', gettext(
                    'relief_counter.msg_feed_id_invalid', row=row))
        id_ = entry['id']
        time = cls.feed_parse_time(point, row, entry)
        date = time.replace(tzinfo=tz.UTC).astimezone(
            _zone(point.company)).date()
        lines = entry.get('lines')
        if not isinstance(lines, list) or not 0 < len(lines) <= MAX_LINES:
            raise FeedRefusal(field + '.lines', gettext(
                    'relief_counter.msg_feed_lines_invalid',
                    row=row, id=id_, limit=MAX_LINES))
        sale = SimpleNamespace(id=id_, time=time, date=date, member=None,
            notes=[],
            lines=[cls.feed_line(point, row, id_, i, l, date, context)
                for i, l in enumerate(lines, 1)],
            payments=cls.feed_payments(
                row, id_, entry.get('payments'), context))
        number = entry.get('member')
        if number is not None:
            if not isinstance(number, str) or number not in context[
                    'members']:
                sale.notes.append(gettext(
                        'relief_counter.msg_feed_member_unknown',
                        code=number))
            else:
                sale.member = context['members'][number]
        sale.row = {
            'point': point.id,
            'company': point.company.id,
            'date': date,
            'feed_transaction': id_,
            'feed_time': time,
            'member_code': number if sale.member else None,
            'member': sale.member.id if sale.member else None,
            }
        return sale

    @classmethod
    def feed_parse_time(cls, point, row, entry):
        "Return the device's time of the sale, in UTC without zone"
        value = entry.get('time')
        field = 'sales[%d].time' % (row - 1)
        try:
            time = dt.datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise FeedRefusal(field, gettext(
                    'relief_counter.msg_feed_time_invalid',
                    row=row, id=entry['id'], value=value))
        if time.tzinfo is None:
            time = time.replace(tzinfo=_zone(point.company))
        time = time.astimezone(tz.UTC).replace(tzinfo=None)
        if time > dt.datetime.utcnow() + FUTURE:
            raise FeedRefusal(field, gettext(
                    'relief_counter.msg_feed_time_future',
                    row=row, id=entry['id'], value=value))
        return time

    @classmethod
    def feed_line(cls, point, row, id_, index, raw, date, context):
        "Return the values of a line at the price the device saw"
        field = 'sales[%d].lines[%d]' % (row - 1, index - 1)
        raw = raw if isinstance(raw, dict) else {}
        product = context['products'].get(raw.get('product'))
        if not isinstance(raw.get('product'), str) or product is None:
            raise FeedRefusal(field + '.product', gettext(
                    'relief_counter.msg_feed_product_unknown',
                    row=row, id=id_, line=index, code=raw.get('product')))
        quantity = _number(raw.get('quantity'))
        if not quantity or abs(quantity) > 10 ** 6:
            raise FeedRefusal(field + '.quantity', gettext(
                    'relief_counter.msg_feed_quantity_invalid',
                    row=row, id=id_, line=index,
                    value=raw.get('quantity')))
        price = _number(raw.get('unit_price'))
        if price is None or price < 0 or price > 10 ** 8:
            raise FeedRefusal(field + '.unit_price', gettext(
                    'relief_counter.msg_feed_price_invalid',
                    row=row, id=id_, line=index,
                    value=raw.get('unit_price')))
        list_price, gross_price = cls.feed_prices(
            point, product, price, date, context['prices'])
        lot = context['lots'].get(product)
        return SimpleNamespace(product=product, quantity=float(quantity),
            unit_price=gross_price if point.tax_included else list_price,
            row={
                'product': product.id,
                'lot': lot.id if lot else None,
                'quantity': float(quantity),
                'unit_list_price': list_price,
                'unit_gross_price': gross_price,
                })

    @classmethod
    def feed_prices(cls, point, product, price, date, cache):
        """Return the unit list and gross prices of the device's price
        (with tax when the point's prices include it)"""
        pool = Pool()
        Tax = pool.get('account.tax')
        Line = pool.get('sale.point.sale.line')
        key = (product, price, date)
        if key not in cache:
            with Transaction().set_context(company=point.company.id):
                taxes = product.customer_taxes_used
            digits = Decimal(1) / 10 ** Line.unit_gross_price.digits[1]
            if point.tax_included:
                gross = price.quantize(digits)
                untaxed = round_price(Tax.reverse_compute(
                        gross, taxes, date=date))
            else:
                untaxed = round_price(price)
                gross = (untaxed + sum(t['amount'] for t in Tax.compute(
                            taxes, untaxed, 1, date=date))).quantize(digits)
            cache[key] = untaxed, gross
        return cache[key]

    @classmethod
    def feed_payments(cls, row, id_, payments, context):
        "Return the values of the payments the device collected"
        if payments is None:
            payments = []
        if not isinstance(payments, list) or len(payments) > MAX_LINES:
            raise FeedRefusal('sales[%d].payments' % (row - 1), gettext(
                    'relief_counter.msg_feed_payments_invalid',
                    row=row, id=id_, limit=MAX_LINES))
        result = []
        for index, raw in enumerate(payments, 1):
            field = 'sales[%d].payments[%d]' % (row - 1, index - 1)
            raw = raw if isinstance(raw, dict) else {}
            method = context['methods'].get(raw.get('method'))
            if not isinstance(raw.get('method'), str) or method is None:
                raise FeedRefusal(field + '.method', gettext(
                        'relief_counter.msg_feed_method_unknown',
                        row=row, id=id_, payment=index,
                        code=raw.get('method')))
            amount = _number(raw.get('amount'))
            if (amount is None or abs(amount) > 10 ** 8
                    or amount != amount.quantize(Decimal('0.01'))):
                raise FeedRefusal(field + '.amount', gettext(
                        'relief_counter.msg_feed_amount_invalid',
                        row=row, id=id_, payment=index,
                        value=raw.get('amount')))
            result.append(SimpleNamespace(method=method,
                    row={'method': method.id, 'amount': amount}))
        return result

    @classmethod
    def feed_insert(cls, point, sales):
        """Write the taken sales as a set: a feed's thousands of sales
        within a few times a hand-written INSERT of their rows (issue 18),
        where creating them as records and processing them costs tens of
        times that (validation, hooks and function fields per record).

        Every value was checked by feed_read; the subsidies are those Pay
        computes (compute_subsidies); a sale that its payments settle is
        numbered in its point's sequence and done with its subsidies
        consumed, as Process does it; the others stay open, flagged."""
        pool = Pool()
        Line = pool.get('sale.point.sale.line')
        Payment = pool.get('sale.point.payment')
        Session = pool.get('sale.point.cash.session')
        SubsidyLine = pool.get('relief.subsidy.line')
        Program = pool.get('relief.subsidy.program')
        if not sales:
            return
        currency = point.company.currency
        cache = {}
        for sale in sales:
            sale.subsidies = [SimpleNamespace(
                    line=line, program=program, member=sale.member,
                    date=sale.date, unit=unit, amount=currency.round(
                        unit * Decimal(str(line.quantity))))
                for line, program, unit in (cls.compute_subsidies(
                        point.company, sale.date, sale.member, sale.lines,
                        cache) if sale.member else [])]
            sale.total = sum((currency.round(Decimal(str(l.quantity))
                        * l.row['unit_gross_price']) for l in sale.lines),
                Decimal(0))
            sale.paid = sum((p.row['amount'] for p in sale.payments),
                Decimal(0))
        cls.feed_check_subsidies([s for s in sales if s.subsidies
                and s.total - s.paid == sum(x.amount for x in s.subsidies)])
        for sale in sales:
            sale.subsidy = sum((x.amount for x in sale.subsidies), Decimal(0))
            to_pay = sale.total - sale.paid - sale.subsidy
            sale.state = 'open' if to_pay else 'done'
            sale.number = None
            if to_pay:
                sale.notes.append(gettext(
                        'relief_counter.msg_feed_not_settled',
                        amount=currency.round(to_pay)))
        done = [s for s in sales if s.state == 'done']
        if done:
            cls.lock_sequences([SimpleNamespace(point=point, number=None)])
            with Transaction().set_context(company=point.company.id):
                for sale, number in zip(
                        done, point.sequence.get_many(len(done))):
                    sale.number = number

        for sale, id_ in zip(sales, insert_rows(cls, [
                        dict(s.row, state=s.state, number=s.number,
                            feed_exception='\n'.join(s.notes) or None)
                        for s in sales])):
            sale.record_id = id_
        lines = [(s, l) for s in sales for l in s.lines]
        for (_, line), id_ in zip(lines, insert_rows(Line, [
                        dict(l.row, sale=s.record_id) for s, l in lines])):
            line.record_id = id_
        session = None
        if any(p.method.cash for s in sales for p in s.payments):
            session = Session.get_current(point).id
        insert_rows(Payment, [dict(p.row, sale=s.record_id,
                    session=session if p.method.cash else None)
                for s in sales for p in s.payments])
        insert_rows(SubsidyLine, [{
                    'point_sale': s.record_id,
                    'point_line': x.line.record_id,
                    'program': x.program.id,
                    'member': s.member.id,
                    'quantity': x.line.quantity,
                    'unit_amount': x.unit,
                    'amount': x.amount,
                    'state': 'confirmed' if s.state == 'done' else 'quotation',
                    'date': s.date if s.state == 'done' else None,
                    } for s in sales for x in s.subsidies])
        Program.consume([x for s in done for x in s.subsidies])
        for sale in sales:
            sale.answer = {
                'number': sale.number,
                'state': sale.state,
                'total': str(sale.total),
                'subsidy': str(sale.subsidy),
                'exception': '\n'.join(sale.notes) or None,
                }

    @classmethod
    def feed_check_subsidies(cls, sales):
        """Leave out the subsidies of the sales that would go beyond a
        budget or a member limit, noting why.

        The money was collected offline: the sale is taken without the
        subsidy (flagged for finance, who may claim it back from the member
        or write it off) rather than lost or refused.  Program.consume
        would refuse the whole batch, so the totals are checked here first,
        under the programmes' lock that consume takes too, sale by sale in
        the devices' order of time."""
        pool = Pool()
        Program = pool.get('relief.subsidy.program')
        Consumption = pool.get('relief.subsidy.consumption')
        lines = [x for s in sales for x in s.subsidies]
        if not lines:
            return
        programs = sorted({l.program for l in lines}, key=lambda p: p.id)
        table = Program.__table__()
        lock_rows(table, table.id.in_([p.id for p in programs]),
            ', '.join(p.rec_name for p in programs))
        consumed = {p: Decimal(str(p.consumed))
            for p in Program.browse(programs)}
        members = cls._feed_member_totals(Consumption, lines)
        for sale in sales:
            reason = cls._feed_check(sale.subsidies, consumed, members)
            if reason:
                sale.notes.append(gettext(
                        'relief_counter.msg_feed_subsidy_refused',
                        reason=reason))
                sale.subsidies = []

    @staticmethod
    def _feed_member_totals(Consumption, lines):
        "Return {(program, member, period start): amount} of the lines'"
        keys = {(l.program, l.member, l.program.period_start(l.date))
            for l in lines if l.program.member_limit is not None}
        totals = defaultdict(Decimal)
        if keys:
            for row in Consumption.search([
                        ('program', 'in', [k[0].id for k in keys]),
                        ('member', 'in', [k[1].id for k in keys]),
                        ]):
                totals[row.program, row.member, row.period] = Decimal(
                    str(row.amount))
        return totals

    @classmethod
    def _feed_check(cls, lines, consumed, members):
        """Return why the subsidy lines of a sale are not allowed, or add
        them to the running totals"""
        Lang = Pool().get('ir.lang')
        by_program, by_member = defaultdict(Decimal), defaultdict(Decimal)
        for line in lines:
            by_program[line.program] += line.amount
            if line.program.member_limit is not None:
                by_member[line.program, line.member,
                    line.program.period_start(line.date)] += line.amount
        for program, amount in by_program.items():
            if consumed[program] + amount > program.budget:
                return gettext('relief_subsidy.msg_budget_exceeded',
                    program=program.rec_name,
                    budget=program._money(program.budget),
                    consumed=program._money(consumed[program]),
                    amount=program._money(amount),
                    remaining=program._money(
                        max(program.budget - consumed[program], 0)))
        for (program, member, start), amount in by_member.items():
            total = members[program, member, start]
            if total + amount > program.member_limit:
                return gettext('relief_subsidy.msg_member_limit_exceeded',
                    program=program.rec_name, member=member.rec_name,
                    start=Lang.get().strftime(start),
                    limit=program._money(program.member_limit),
                    consumed=program._money(total),
                    amount=program._money(amount),
                    remaining=program._money(
                        max(program.member_limit - total, 0)))
        for program, amount in by_program.items():
            consumed[program] += amount
        for key, amount in by_member.items():
            members[key] += amount
        return None

    def feed_answer(self):
        "What the device is told of a taken sale"
        return {
            'number': self.number,
            'state': self.state,
            'total': str(self.total),
            'subsidy': str(self.subsidy_amount),
            'exception': self.feed_exception,
            }


class FeedSecretResult(ModelView):
    "Device Secret Created"
    __name__ = 'relief.counter.feed.secret.result'
    device = fields.Char("Device ID", readonly=True)
    secret = fields.Char("Secret", readonly=True,
        help="Give it to the device's operator now: it is not shown again.")


class FeedSecret(Wizard):
    "Create Device Secret"
    __name__ = 'relief.counter.feed.secret'
    start_state = 'create_'
    create_ = StateTransition()
    result = StateView('relief.counter.feed.secret.result',
        'relief_counter.feed_secret_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_create_(self):
        device, secret = self.record.feed_new_secret()
        self.result.device = device
        self.result.secret = secret
        return 'result'

    def default_result(self, fields):
        return {'device': self.result.device, 'secret': self.result.secret}

