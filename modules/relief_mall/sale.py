# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Member mall orders: confirmed at once (the subsidies and the stock are
reserved), processed when paid, cancelled when not paid in time."""
import datetime as dt
from collections import defaultdict

from sql import Null
from sql.aggregate import Sum

from trytond.i18n import gettext
from trytond.model import Index, ModelView, fields
from trytond.modules.relief.totals import lock_rows
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .exceptions import StockError

# Far enough to count every planned move in a forecast
FORECAST_DAYS = 3660


def mall_stocked(product, quantity):
    """Return [(product, quantity in its default unit)] of the stocked
    goods that quantity (default unit) of product takes: a gift pack
    (kit) takes its components, a service nothing"""
    Uom = Pool().get('product.uom')
    if product.type == 'kit':
        result = []
        for component in product.components_used:
            part = component.quantity
            if not component.fixed:
                part *= quantity
            result.append((component.product, Uom.compute_qty(
                        component.unit, part,
                        component.product.default_uom, round=False)))
        return result
    if product.type == 'service':
        return []
    return [(product, quantity)]


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    mall_request = fields.Char(
        "Request Digest", readonly=True,
        states={'invisible': ~Eval('mall_request')},
        help="The digest of the order as the channel sent it: the same "
        "Idempotency-Key with another order is refused.")
    mall_pay_before = fields.DateTime(
        "Pay Before", readonly=True,
        states={'invisible': ~Eval('mall_pay_before')},
        help="When the member mall cancels the order if it is not paid.")
    mall_paid = fields.Function(fields.Boolean(
            "Paid", states={'invisible': ~Eval('mall_pay_before')}),
        'get_mall_paid')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.mall_pay_before, Index.Range()),
                where=(t.state == 'confirmed') & (t.mall_pay_before != Null)))

    def get_mall_paid(self, name):
        if self.mall_pay_before is None:
            return None
        return self.mall_covered

    @property
    def mall_covered(self):
        "Whether succeeded payments cover what the member pays"
        paid = sum(p.amount for p in self.payments
            if p.kind == 'receivable' and p.state == 'succeeded')
        return paid >= (self.total_amount or 0)

    @property
    def mall_awaits_payment(self):
        return (self.mall_pay_before is not None
            and self.state == 'confirmed' and not self.mall_covered)

    @classmethod
    @ModelView.button
    def process(cls, sales):
        # A mall order is shipped and invoiced once paid (Notification.pay
        # processes it); its stock is reserved meanwhile (reserved()).
        super().process([s for s in sales if not s.mall_awaits_payment])

    @classmethod
    def mall_return(cls, sale, quantities):
        """Return the confirmed return sale of quantities {product:
        quantity} delivered by sale (Tryton's return: a copy with negative
        quantities and sale as origin, whose quotation credits the
        subsidies of the returned units); the back office receives the
        goods and refunds"""
        Line = Pool().get('sale.line')
        return_sale, = cls.copy([sale], default={
                'origin': str(sale),
                'mall_request': None,
                'mall_pay_before': None,
                'web_id': None,
                })
        to_delete, to_save = [], []
        for line in return_sale.lines:
            quantity = quantities.pop(line.product, None)
            if line.type != 'line' or quantity is None:
                to_delete.append(line)
            else:
                line.quantity = -quantity
                to_save.append(line)
        Line.delete(to_delete)
        Line.save(to_save)
        cls.quote([return_sale])
        cls.confirm([return_sale])
        return return_sale

    def mall_returnable(self):
        """Return what can still be returned of each product: delivered
        less returned by earlier returns"""
        pool = Pool()
        Uom = pool.get('product.uom')
        Sale = pool.get('sale.sale')
        result = defaultdict(float)
        for line in self.lines:
            if line.type != 'line' or not line.product:
                continue
            for move in line.moves:
                if move.state == 'done':
                    result[line.product] += Uom.compute_qty(move.unit,
                        move.quantity, line.unit, round=False)
        for return_ in Sale.search([
                    ('origin', '=', str(self)),
                    ('state', 'not in', ['draft', 'cancelled']),
                    ]):
            for line in return_.lines:
                if line.type == 'line' and line.product in result:
                    result[line.product] += line.quantity
        return result

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('mall_request')
        default.setdefault('mall_pay_before')
        return super().copy(sales, default=default)

    @classmethod
    def mall_reserved(cls, warehouses, products):
        """Return the quantities of products, by id in their default unit,
        that confirmed sales from warehouses hold before they have moves
        (a gift pack holds its components)"""
        pool = Pool()
        Line = pool.get('sale.line')
        Uom = pool.get('product.uom')
        Product = pool.get('product.product')
        line = Line.__table__()
        sale = cls.__table__()
        cursor = Transaction().connection.cursor()
        # Only the orders awaiting processing: few, whatever the history
        cursor.execute(*line.join(sale, condition=line.sale == sale.id
                ).select(line.product, line.unit, Sum(line.quantity),
                where=(sale.state == 'confirmed')
                & sale.warehouse.in_([w.id for w in warehouses])
                & (line.type == 'line') & (line.product != Null)
                & (line.quantity > 0),
                group_by=[line.product, line.unit]))
        ids = {p.id for p in products}
        result = defaultdict(float)
        for product_id, unit_id, quantity in cursor:
            product = Product(product_id)
            quantity = Uom.compute_qty(
                Uom(unit_id), quantity, product.default_uom, round=False)
            for part, part_quantity in mall_stocked(product, quantity):
                if part.id in ids:
                    result[part.id] += part_quantity
        return result

    @classmethod
    def mall_available(cls, warehouses, products):
        """Return what can be promised of each product (by id, default
        unit) from warehouses: the lower of today's stock and the forecast,
        less what confirmed sales hold before they have moves; a gift pack
        (kit) as many as its components make"""
        pool = Pool()
        Product = pool.get('product.product')
        Date = pool.get('ir.date')
        today = Date.today()
        ids = [w.id for w in warehouses]
        stocked = {c for p in products for c, _ in mall_stocked(p, 1)}
        grouping = (sorted(p.id for p in stocked),)
        figures = []
        for end in [today, today + dt.timedelta(days=FORECAST_DAYS)]:
            # Figures only: who may sell may know them, not read the moves
            with Transaction().set_context(
                    stock_date_end=end, stock_assign=True), \
                    without_check_access():
                quantities = Product.products_by_location(
                    ids, with_childs=True, grouping_filter=grouping)
            totals = defaultdict(float)
            for (_, product_id), quantity in quantities.items():
                totals[product_id] += quantity
            figures.append(totals)
        reserved = cls.mall_reserved(warehouses, stocked)
        available = {p.id: min(f[p.id] for f in figures) - reserved[p.id]
            for p in stocked}
        result = {}
        for product in products:
            parts = mall_stocked(product, 1)
            if product.type == 'kit':
                result[product.id] = product.default_uom.floor(min(
                        (available[c.id] / q for c, q in parts if q),
                        default=0))
            elif parts:
                result[product.id] = available[product.id]
        return result

    @classmethod
    def mall_lock_stock(cls, products):
        """Lock the products whose stock orders check (a gift pack's
        components), first: of two orders of the last units the second
        reads what the first took"""
        Product = Pool().get('product.product')
        table = Product.__table__()
        stocked = {c for p in set(products) for c, _ in mall_stocked(p, 1)}
        stocked = sorted(stocked, key=lambda p: p.id)
        if stocked:
            lock_rows(table, table.id.in_([p.id for p in stocked]),
                ', '.join(p.rec_name for p in stocked))

    def mall_wanted(self):
        "Return the stocked quantities the lines take, by product"
        Uom = Pool().get('product.uom')
        wanted = defaultdict(float)
        for line in self.lines:
            if (line.type != 'line' or not line.product
                    or line.product.template.mall_preorder):
                continue
            quantity = Uom.compute_qty(line.unit, line.quantity,
                line.product.default_uom, round=False)
            for product, part in mall_stocked(line.product, quantity):
                wanted[product] += part
        return wanted

    def check_mall_stock(self):
        """Refuse, before confirming, lines beyond what can be promised
        (mall_lock_stock taken first); pre-orders are not checked"""
        wanted = self.mall_wanted()
        if not wanted:
            return
        products = sorted(wanted, key=lambda p: p.id)
        available = self.mall_available([self.warehouse], products)
        for product in products:
            unit = product.default_uom
            if wanted[product] > available[product.id] + unit.rounding / 2:
                raise StockError(gettext('relief_mall.msg_stock_short',
                        product=product.rec_name,
                        quantity='%g' % unit.round(wanted[product]),
                        available='%g' % unit.round(
                            max(available[product.id], 0)),
                        unit=unit.rec_name))

    @classmethod
    def mall_lock(cls, sales):
        """Lock the orders for a change by the channel, waiting for whoever
        holds them (Model.lock gives up after [database] retry tries); FOR
        UPDATE as Sale.process then locks them too"""
        table = cls.__table__()
        lock_rows(table, table.id.in_([s.id for s in sales]),
            ', '.join(s.rec_name for s in sales), update=True)

    @classmethod
    def mall_cancel_unpaid(cls, sales=None):
        """Cancel the member mall orders not paid in time: back to draft
        gives back their subsidies and member limits, cancelling gives
        back their stock (cron)"""
        if sales is None:
            now = dt.datetime.now()
            sales = cls.search([
                    ('state', '=', 'confirmed'),
                    # Stored to the second: due this second is late
                    ('mall_pay_before', '<=', now),
                    ])
        sales = [s for s in sales if s.mall_awaits_payment]
        if sales:
            cls.mall_cancel(sales)

    @classmethod
    def mall_cancel(cls, sales):
        "Cancel mall orders that are not processed"
        cls.draft(sales)
        cls.cancel(sales)

    @property
    def mall_shipped(self):
        "Whether goods of the order left the warehouse (or are packed)"
        return any(s.state not in {'draft', 'waiting', 'assigned',
                    'cancelled'} for s in self.shipments)

    @property
    def mall_cancelled(self):
        "Whether every move of a processed order is cancelled"
        moves = [m for l in self.lines for m in l.moves]
        return bool(moves) and all(m.state == 'cancelled' for m in moves)

    @classmethod
    def mall_cancel_paid(cls, sales):
        """Cancel paid orders whose goods have not left: their shipments
        are cancelled and the moves ignored, so that nothing is shipped
        nor invoiced (mall orders are invoiced on shipment) and the
        subsidies follow (relief_subsidy credits the payers); the member's
        payment is refunded on the provider's journal"""
        pool = Pool()
        Shipment = pool.get('stock.shipment.out')
        Line = pool.get('sale.line')
        Notification = pool.get('relief.mall.payment.notification')
        Shipment.cancel([s for sale in sales for s in sale.shipments])
        to_write = []
        for sale in cls.browse(sales):
            for line in sale.lines:
                moves = [m.id for m in line.moves if m.state == 'cancelled']
                if moves:
                    to_write.extend(
                        ([line], {'moves_ignored': [('add', moves)]}))
        if to_write:
            Line.write(*to_write)
        cls.process(sales)
        for sale in cls.browse(sales):
            Notification.refund(sale)
