# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The stock of counters and smart cabinets: replenishment, freshness and
recalls.

Replenishment is stock_supply's: an internal order point per product on
the point's storage location, provisioned from its provisioning location
(the distributor's warehouse); Supply Stock (or its scheduled action)
makes the internal shipments.  The points' locations belong to a warehouse
of their own (the sites'), not to the distributor's: a warehouse promises
and picks what its storage holds, and the goods on a bank branch's shelf
are neither for the mall's orders nor for a union's shipment.

Freshness is stock_lot_sled's: a lot's shelf life expiration date (SLED).
A counter sale line carries its lot, so the move to the customer is
checked by stock_lot_sled (an expired lot is not sold) and by relief_trace
(a recalled lot is not sold).  What expires within the shelf life delay of
the stock configuration (the same delay removes those lots from the
forecast, so the order points replenish what is withdrawn) is flagged for
withdrawal in the counters' lot stock."""
import datetime as dt
from collections import defaultdict

from sql import Literal, Null, Union
from sql.aggregate import Min, Sum
from sql.conditionals import Case
from sql.functions import Abs

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.model.fields import SQL_OPERATORS
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, PYSONEncoder
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import (
    Button, StateAction, StateTransition, StateView, Wizard)

from .exceptions import CounterError, CounterLotError

# A quantity left by float sums is no stock
EPSILON = 1e-6


def withdrawal_limit(today):
    "Return the last expiration date flagged for withdrawal on today"
    Config = Pool().get('stock.configuration')
    delay = Config(1).get_multivalue('shelf_life_delay') or dt.timedelta(0)
    return today + max(delay, dt.timedelta(0))


class LotStock(ModelSQL, ModelView):
    "Counter Lot Stock"
    __name__ = 'relief.counter.lot_stock'
    __string__ = "Counter Lot Stock"

    point = fields.Many2One('sale.point', "Point")
    location = fields.Many2One('stock.location', "Location")
    company = fields.Many2One('company.company', "Company")
    product = fields.Many2One(
        'product.product', "Product",
        context={'company': Eval('company', -1)}, depends={'company'})
    lot = fields.Many2One('stock.lot', "Lot")
    quantity = fields.Float("Quantity", digits='unit')
    unit = fields.Function(
        fields.Many2One('product.uom', "Unit"), 'on_change_with_unit')
    expiration_date = fields.Date(
        "Shelf Life Expiration Date",
        help="After this date the lot is not sold.")
    withdrawal = fields.Selection([
            (None, ""),
            ('recalled', "Recalled"),
            ('expired', "Expired"),
            ('expiring', "Expiring Soon"),
            ], "Withdrawal", sort=False,
        help="Why the lot is to be taken off the shelves: it is recalled, "
        "expired, or expires within the shelf life delay of the stock "
        "configuration.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('expiration_date', 'ASC NULLS LAST'),
            ('id', 'ASC'),
            ]
        cls._buttons.update({
                'withdraw': {
                    'invisible': ~Eval('withdrawal'),
                    'depends': ['withdrawal'],
                    },
                })

    @classmethod
    def table_query(cls):
        "The done stock of each lot at each point's storage location"
        return cls._stock_query(
            lots=Transaction().context.get('_relief_lot_stock_lots'))

    @classmethod
    def read(cls, ids, fields_names):
        # A row's id is one of its moves' (doubled): the sums are made of
        # the lots of those moves only, not of every lot at every counter
        pool = Pool()
        Move = pool.get('stock.move')
        move = Move.__table__()
        cursor = Transaction().connection.cursor()
        lots = set()
        for sub_ids in grouped_slice(
                sorted({int(i) // 2 for i in ids}),
                backend.MAX_QUERY_PARAMS):
            cursor.execute(*move.select(move.lot,
                    where=SQL_OPERATORS['in'](move.id, sub_ids)
                    & (move.lot != Null),
                    group_by=[move.lot]))
            lots.update(l for l, in cursor)
        with Transaction().set_context(_relief_lot_stock_lots=sorted(lots)):
            return super().read(ids, fields_names)

    @classmethod
    def first_to_expire(cls, company, location, product, date):
        """Return the lot of product in stock at company's location that
        expires first and can be sold on date (neither expired nor
        recalled)"""
        Lot = Pool().get('stock.lot')
        cursor = Transaction().connection.cursor()
        # The company, location and product filter the moves (an index),
        # not the sums of every counter
        stock = cls._stock_query(
            company=company.id, locations=[location.id],
            products=[product.id])
        sled = stock.expiration_date
        cursor.execute(*stock.select(stock.lot,
                where=(stock.quantity > 0)
                & ((sled == Null) | (sled >= date))
                & ((stock.withdrawal == Null)
                    | (stock.withdrawal != 'recalled')),
                order_by=[Case((sled == Null, 1), else_=0), sled, stock.lot],
                limit=1))
        row = cursor.fetchone()
        return Lot(row[0]) if row else None

    @classmethod
    def _stock_query(
            cls, company=None, locations=None, products=None, lots=None):
        """Sum the done moves of lots in and out of the points' locations
        (of company, locations, products and lots only, if given), with each
        lot's expiration date and why it is to be withdrawn.

        A row's id is the smallest of its moves' ids doubled (in) or doubled
        plus one (out): a move is in one row as it comes in and in another
        as it goes out, so no two rows share an id."""
        pool = Pool()
        Date = pool.get('ir.date')
        Lot = pool.get('stock.lot')
        Move = pool.get('stock.move')
        Point = pool.get('sale.point')
        point = Point.__table__()
        counters = point.select(
            point.storage_location.as_('location'),
            Min(point.id).as_('point'),
            group_by=[point.storage_location])
        today = Date.today()
        limit = withdrawal_limit(today)

        def moves(side, sign, offset):
            move, lot = Move.__table__(), Lot.__table__()
            location = getattr(move, side)
            sled = lot.shelf_life_expiration_date
            withdrawal = Case(
                (lot.relief_blocked == Literal(True), 'recalled'),
                (sled < today, 'expired'),
                (sled <= limit, 'expiring'),
                else_=Null)
            where = move.state == 'done'
            for column, values in [
                    (move.company, company and [company]),
                    (location, locations),
                    (move.product, products),
                    (move.lot, lots)]:
                if values is not None:
                    where &= (SQL_OPERATORS['in'](column, values)
                        if values else Literal(False))
            return move.join(counters, condition=location == counters.location
                ).join(lot, condition=move.lot == lot.id
                ).select(
                    (move.id * 2 + offset).as_('key'),
                    counters.point.as_('point'),
                    location.as_('location'),
                    move.company.as_('company'),
                    move.product.as_('product'),
                    move.lot.as_('lot'),
                    sled.as_('expiration_date'),
                    withdrawal.as_('withdrawal'),
                    (move.internal_quantity * sign).as_('quantity'),
                    where=where)
        union = Union(
            moves('to_location', 1, 0), moves('from_location', -1, 1),
            all_=True)
        # The lot's columns depend on the lot: grouping by them lets a
        # search on them filter the moves before the sums
        group = [union.point, union.location, union.company, union.product,
            union.lot, union.expiration_date, union.withdrawal]
        return union.select(
            Min(union.key).as_('id'), *group,
            Sum(union.quantity).as_('quantity'),
            group_by=group,
            having=Abs(Sum(union.quantity)) > EPSILON)

    @fields.depends('product')
    def on_change_with_unit(self, name=None):
        return self.product.default_uom if self.product else None

    def get_rec_name(self, name):
        return '%s @ %s' % (self.lot.rec_name, self.location.rec_name)

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause[:3]
        bool_op = 'AND' if operator.startswith(('!', 'not ')) else 'OR'
        return [bool_op,
            ('lot.rec_name', *clause[1:]),
            ('product.rec_name', *clause[1:]),
            ('point.rec_name', *clause[1:]),
            ]

    @classmethod
    @ModelView.button
    def withdraw(cls, rows):
        "Open the shipments that take the rows' lots back to the warehouse"
        pool = Pool()
        Action = pool.get('ir.action')
        ModelData = pool.get('ir.model.data')
        shipments = cls.create_withdrawals(rows)
        action, = Action.get_action_values('ir.action.act_window', [
                ModelData.get_id('stock', 'act_shipment_internal_form')])
        action['pyson_domain'] = PYSONEncoder().encode(
            [('id', 'in', [s.id for s in shipments])])
        return action

    @classmethod
    def create_withdrawals(cls, rows):
        """Create and return a draft internal shipment per counter location
        of the rows to withdraw, back to where it is provisioned from"""
        pool = Pool()
        Shipment = pool.get('stock.shipment.internal')
        by_location = defaultdict(list)
        for row in rows:
            if row.withdrawal and row.quantity > 0:
                by_location[row.location].append(row)
        shipments = [cls._withdrawal_shipment(location, l_rows)
            for location, l_rows in by_location.items()]
        Shipment.save(shipments)
        return shipments

    @classmethod
    def _withdrawal_shipment(cls, location, rows):
        pool = Pool()
        Move = pool.get('stock.move')
        Shipment = pool.get('stock.shipment.internal')
        to_location = provisioning(location)
        moves = [Move(
                from_location=location, to_location=to_location,
                product=row.product, lot=row.lot, quantity=row.quantity,
                unit=row.product.default_uom, company=row.company)
            for row in rows]
        return Shipment(
            company=rows[0].company, from_location=location,
            to_location=to_location, moves=moves)


class Location(metaclass=PoolMeta):
    __name__ = 'stock.location'

    relief_sites = fields.Boolean(
        "Sites of Points of Sale",
        states={'invisible': Eval('type') != 'warehouse'},
        help="The warehouse of the counters' and smart cabinets' shelves: "
        "never the default warehouse of sales and purchases.")

    @classmethod
    def default_relief_sites(cls):
        return False

    @classmethod
    def get_default_warehouse(cls):
        # stock's, without the sites' warehouses: with them the distributor
        # still has one warehouse that sells
        warehouse = Transaction().context.get('warehouse')
        if warehouse:
            return warehouse
        warehouse = cls._default_warehouse_cache.get(None, -1)
        if warehouse == -1:
            warehouses = cls.search([
                    ('type', '=', 'warehouse'),
                    ('relief_sites', '!=', True),
                    ], limit=2)
            warehouse = warehouses[0].id if len(warehouses) == 1 else None
            cls._default_warehouse_cache.set(None, warehouse)
        return warehouse


class SupplyStart(metaclass=PoolMeta):
    __name__ = 'stock.supply.start'

    @classmethod
    def default_warehouses(cls):
        # Supply Stock replenishes, by default, the warehouse that sells
        # and the points' shelves it supplies
        Location = Pool().get('stock.location')
        warehouses = super().default_warehouses()
        if warehouses:
            warehouses += [w.id for w in Location.search([
                        ('type', '=', 'warehouse'),
                        ('relief_sites', '=', True),
                        ])]
        return warehouses


def provisioning(location):
    """The storage a point's location is replenished from: its provisioning
    location (stock_supply's), else its warehouse's storage"""
    if location.provisioning_location:
        return location.provisioning_location
    warehouse = location.warehouse
    return warehouse.storage_location if warehouse else None


class Point(metaclass=PoolMeta):
    __name__ = 'sale.point'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'set_order_points': {},
                })

    @classmethod
    def validate_fields(cls, points, field_names):
        super().validate_fields(points, field_names)
        cls.check_storage_location(points, field_names)

    @classmethod
    def check_storage_location(cls, points, field_names=None):
        """Refuse a point whose shelf is in a warehouse that sells: that
        warehouse would promise and pick the shelf's goods"""
        if field_names and 'storage_location' not in field_names:
            return
        for point in points:
            location = point.storage_location
            if location.warehouse and not location.warehouse.relief_sites:
                raise CounterError(gettext(
                        'relief_counter.msg_point_storage_in_warehouse',
                        point=point.rec_name, location=location.rec_name,
                        warehouse=location.warehouse.rec_name))

    @classmethod
    @ModelView.button_action('relief_counter.wizard_order_point_set')
    def set_order_points(cls, points):
        pass

    @property
    def provisioning_location(self):
        "The storage the point is replenished from"
        return provisioning(self.storage_location)


class OrderPointSet(Wizard):
    "Set the Order Points of a Counter"
    __name__ = 'relief.counter.order_point.set'
    __string__ = "Set the Order Points of a Counter"

    start = StateView(
        'relief.counter.order_point.set.start',
        'relief_counter.order_point_set_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Set", 'set_', 'tryton-ok', default=True),
            ])
    set_ = StateTransition()
    open_ = StateAction('stock_supply.act_order_point_form')

    def default_start(self, fields):
        point = self.record
        location = point.provisioning_location
        return {
            'point': point.id,
            'provisioning_location': location.id if location else None,
            }

    def transition_set_(self):
        pool = Pool()
        OrderPoint = pool.get('stock.order_point')
        start, point = self.start, self.record
        location = point.storage_location
        existing = {op.product: op for op in OrderPoint.search([
                    ('type', '=', 'internal'),
                    ('location', '=', location.id),
                    ('product', 'in', [p.id for p in start.products]),
                    ])}
        order_points = []
        for product in start.products:
            op = existing.get(product) or OrderPoint(
                type='internal', location=location, product=product,
                company=point.company)
            op.provisioning_location = start.provisioning_location
            op.min_quantity = start.min_quantity
            op.target_quantity = start.target_quantity
            order_points.append(op)
        OrderPoint.save(order_points)
        return 'open_'

    def do_open_(self, action):
        action['pyson_domain'] = PYSONEncoder().encode([
                ('type', '=', 'internal'),
                ('location', '=', self.record.storage_location.id),
                ])
        action['name'] += ' @ %s' % self.record.rec_name
        return action, {}


class OrderPointSetStart(ModelView):
    "Set the Order Points of a Counter"
    __name__ = 'relief.counter.order_point.set.start'
    __string__ = "Set the Order Points of a Counter"

    point = fields.Many2One('sale.point', "Point", readonly=True)
    products = fields.Many2Many(
        'product.product', None, None, "Products", required=True,
        domain=[
            ('type', '=', 'goods'),
            ('consumable', '=', False),
            ('salable', '=', True),
            ],
        help="The products the counter keeps in stock.")
    provisioning_location = fields.Many2One(
        'stock.location', "Provisioning Location", required=True,
        domain=[('type', 'in', ['storage', 'view'])],
        help="Where the counter's stock comes from.")
    min_quantity = fields.Float(
        "Minimal Quantity", required=True,
        domain=[('min_quantity', '>=', 0)],
        help="Below it, Supply Stock brings the counter's stock back to "
        "the target quantity.")
    target_quantity = fields.Float(
        "Target Quantity", required=True,
        domain=[('target_quantity', '>=', Eval('min_quantity', 0))])


class POSSaleLine(metaclass=PoolMeta):
    __name__ = 'sale.point.sale.line'

    lot = fields.Many2One(
        'stock.lot', "Lot", ondelete='RESTRICT',
        domain=[
            ('product', '=', Eval('product', -1)),
            ],
        states={
            'readonly': Eval('sale_state') != 'open',
            },
        help="The lot taken from the counter's shelf: the first to expire "
        "that can still be sold.")

    @fields.depends(
        'product', 'quantity', 'sale', '_parent_sale.point',
        '_parent_sale.date')
    def on_change_product(self):
        super().on_change_product()
        self.lot = self.counter_lot()

    def counter_lot(self):
        "Return the counter's lot of the product that expires first"
        LotStock = Pool().get('relief.counter.lot_stock')
        if self.product and self.sale and self.sale.point:
            point = self.sale.point
            return LotStock.first_to_expire(
                point.company, point.storage_location, self.product,
                self.sale.date or dt.date.min)

    @classmethod
    def validate_fields(cls, lines, field_names):
        super().validate_fields(lines, field_names)
        cls.check_counter_lot(lines, field_names)

    @classmethod
    def check_counter_lot(cls, lines, field_names=None):
        "Refuse to sell a lot that is recalled or expired on the sale's date"
        pool = Pool()
        Lang = pool.get('ir.lang')
        Lot = pool.get('stock.lot')
        if field_names and not (field_names & {'lot', 'product', 'quantity'}):
            return
        for line in lines:
            lot = line.lot
            if not lot or line.quantity < 0 or line.sale.state != 'open':
                continue
            if lot.relief_blocked:
                # The recall names customers: clerks do not read it
                with without_check_access():
                    recall = Lot(lot.id).relief_recall
                raise CounterLotError(gettext(
                        'relief_counter.msg_line_lot_recalled',
                        lot=lot.rec_name, product=line.product.rec_name,
                        sale=line.sale.rec_name,
                        recall=recall.rec_name if recall else ''))
            sled = lot.shelf_life_expiration_date
            if sled and line.sale.date > sled:
                raise CounterLotError(gettext(
                        'relief_counter.msg_line_lot_expired',
                        lot=lot.rec_name, product=line.product.rec_name,
                        sale=line.sale.rec_name,
                        date=Lang.get().strftime(sled)))

    def get_stock_move(self):
        move = super().get_stock_move()
        if move:
            move.lot = self.lot
            if not move.lot and self.product.lot_is_required(
                    move.from_location, move.to_location):
                # A cabinet or an offline device names no lot: the one
                # sold is the first to expire on the shelf
                move.lot = self.counter_lot()
        return move


class Recall(metaclass=PoolMeta):
    __name__ = 'relief.trace.recall'

    counter_stock = fields.Function(fields.Many2Many(
            'relief.counter.lot_stock', None, None, "Counter Stock",
            help="The recalled lots still at counters and smart cabinets: "
            "to withdraw."),
        'get_counter_stock')

    @classmethod
    def get_counter_stock(cls, recalls, name):
        LotStock = Pool().get('relief.counter.lot_stock')
        lots = {r.id: [l.id for l in r.blocked_lots] for r in recalls}
        lot_ids = sorted({i for ids in lots.values() for i in ids})
        by_lot = defaultdict(list)
        if lot_ids:
            for row in LotStock.search([('lot', 'in', lot_ids)]):
                by_lot[row.lot.id].append(row.id)
        return {r: [i for l in ids for i in by_lot[l]]
            for r, ids in lots.items()}

    def export_rows(self):
        rows = super().export_rows()
        for row in self.counter_stock:
            rows.append({
                    'sequence': len(rows) + 1,
                    'direction': "专柜库存（待撤柜）",
                    'party': row.point.host.rec_name,
                    'document': row.point.rec_name,
                    'shipment': row.location.rec_name,
                    'date': None,
                    'product': row.product.rec_name,
                    'lot': row.lot.rec_name,
                    'quantity': row.quantity,
                    'unit': row.unit.rec_name,
                    })
        return rows


class RecallLine(metaclass=PoolMeta):
    __name__ = 'relief.trace.recall.line'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        selection = ('sale.point.sale', "Counter Sale")
        if selection not in cls.document.selection:
            cls.document.selection.append(selection)

    @classmethod
    def from_move(cls, recall, move, direction):
        "A counter sale is the line's order; its member the customer"
        line = super().from_move(recall, move, direction)
        origin = move.origin
        if (direction == 'downstream' and origin
                and origin.__name__ == 'sale.point.sale.line'):
            line.document = origin.sale
            line.party = getattr(origin.sale, 'member', None)
        return line
