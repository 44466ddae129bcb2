# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The running totals that the report by origin reads: what was sold of
each product, and bought of each supplier's products, by month, so that
the report reads a few thousand rows instead of millions of lines."""
from collections import defaultdict
from decimal import Decimal, localcontext

from sql import Cast, Literal, Null
from sql.aggregate import Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Extract

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, Unique, fields
from trytond.modules.relief_union.party import slices
from trytond.modules.relief_union.sale import SPENDING
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .exceptions import SpendingAccessError
from .spending import add_figures

# Purchases whose relief products count as bought from their supplier
PURCHASED = ['confirmed', 'processing', 'done']


def _number(column):
    if backend.name == 'sqlite':
        # A decimal is stored as text
        return Cast(column, 'REAL')
    return column


class _Totals:
    """Running totals by key (_keys) of the figures (_figures) of
    rows_query(), kept by track() and recomputed by rebuild() on every
    update, as relief.report.spending is"""
    __slots__ = ()
    _keys = []
    _figures = []

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        # What was counted while the module was deactivated counts too
        cls.rebuild()

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        # Kept in SQL; no access row grants a change, this holds if one did
        if external:
            raise SpendingAccessError(
                gettext('relief_report.msg_origin_totals_modify'))

    @classmethod
    def rows_query(cls, where=None):
        "Return the rows of the keys and figures of the lines in where"
        raise NotImplementedError

    @classmethod
    def _grouped(cls, rows):
        # A subquery: the year and month expressions grouped by alias
        keys = [getattr(rows, k) for k in cls._keys]
        return rows.select(
            *(Cast(c, 'INTEGER').as_(k) if k in {'year', 'month'} else c
                for k, c in zip(cls._keys, keys)),
            *(Sum(getattr(rows, f)).as_(f) for f in cls._figures),
            group_by=keys)

    @classmethod
    def _value(cls, figure, value):
        "The Python value of a figure read from the database"
        field = cls._fields[figure]
        if value is None:
            value = 0
        if field._type == 'numeric':
            # SQLite adds NUMERIC as floats
            return Decimal(str(value))
        if field._type == 'integer':
            return int(value)
        return float(value)

    @classmethod
    def amounts(cls, query):
        "Return the figures by key of the rows of query"
        cursor = Transaction().connection.cursor()
        cursor.execute(*cls._grouped(query))
        n = len(cls._keys)
        return {tuple(int(k) for k in row[:n]): [
                cls._value(f, v) for f, v in zip(cls._figures, row[n:])]
            for row in cursor}

    @classmethod
    def add(cls, before, after):
        "Add the difference of two figures by key to the totals"
        # Not rounded: the sums stay those of the lines to the last digit
        with localcontext() as context:
            context.prec = 60
            changes = defaultdict(lambda: [0] * len(cls._figures))
            for sign, amounts in [(1, after), (-1, before)]:
                for key, values in amounts.items():
                    change = changes[key]
                    for i, value in enumerate(values):
                        change[i] = change[i] + sign * value
        rows = [[*k, *v] for k, v in changes.items() if any(v)]
        add_figures(cls.__table__(), cls._keys, cls._figures, rows)

    @classmethod
    def rebuild(cls):
        "Recompute every total from the lines (set-based)"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.delete())
        rows = cls._grouped(cls.rows_query())
        columns = cls._keys + cls._figures
        cursor.execute(*table.insert(
                [getattr(table, c) for c in columns],
                rows.select(*(getattr(rows, k) for k in cls._keys),
                    *(Coalesce(getattr(rows, f), 0)
                        for f in cls._figures))))

    @classmethod
    def track(cls, where):
        """Return a function that, called after a change to the lines in
        where, adds what the change made to the totals"""
        before = cls.amounts(cls.rows_query(where))
        return lambda: cls.add(before, cls.amounts(cls.rows_query(where)))


class OriginSold(_Totals, ModelSQL):
    """Relief Sales by Product and Month

    What unions and members bought of each product (counted sales, as the
    progress counts them), by year and month: the sales that the report by
    origin gives the product's supplier.  Kept by the same writes as
    relief_union's yearly totals (relief.union.spending.track)."""
    __name__ = 'relief.report.origin.sold'

    product = fields.Many2One(
        'product.product', "Product", required=True, ondelete='CASCADE')
    year = fields.Integer("Year", required=True)
    month = fields.Integer("Month", required=True)
    sales = fields.Numeric("Sales", required=True)
    items = fields.Float("Items", required=True)
    lines = fields.Integer(
        "Lines", required=True,
        help="The counted sale lines: a product sold is one that has some.")
    _keys = ['product', 'year', 'month']
    _figures = ['sales', 'items', 'lines']

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('year', 'DESC'), ('month', 'DESC'), ('product', 'ASC'),
            ('id', 'ASC')]
        t = cls.__table__()
        cls._sql_constraints += [
            ('key_unique', Unique(t, t.product, t.year, t.month),
                'relief_report.msg_origin_sold_unique'),
            ]

    @classmethod
    def rows_query(cls, where=None):
        """Return the (product, year, month, sales, items, lines) rows of
        the counted sale lines that match where(sale, line)"""
        pool = Pool()
        sale = pool.get('sale.sale').__table__()
        line = pool.get('sale.line').__table__()
        # As relief_union counts it: cancelled goods are out
        ratio = Case((line.quantity != 0, Cast(
                    Coalesce(line.actual_quantity, line.quantity)
                    / line.quantity, 'NUMERIC')), else_=0)
        condition = (sale.state.in_(SPENDING)
            & (sale.sale_date != Null)
            & (line.relief_amount != Null)
            & (line.product != Null))
        if where is not None:
            condition &= where(sale, line)
        return line.join(sale, condition=line.sale == sale.id).select(
            line.product.as_('product'),
            Extract('YEAR', sale.sale_date).as_('year'),
            Extract('MONTH', sale.sale_date).as_('month'),
            (_number(line.relief_amount) * ratio).as_('sales'),
            Coalesce(line.actual_quantity, line.quantity).as_('items'),
            Literal(1).as_('lines'),
            where=condition)


class OriginBought(_Totals, ModelSQL):
    """Relief Purchases by Supplier, Product and Month

    What the platform bought of each product from each supplier
    (confirmed purchases), by year and month.  Kept by the writes of the
    purchases that confirm them or draft them again (Purchase.write) and
    of their lines (PurchaseLine.write)."""
    __name__ = 'relief.report.origin.bought'

    supplier = fields.Many2One(
        'party.party', "Supplier", required=True, ondelete='CASCADE')
    product = fields.Many2One(
        'product.product', "Product", required=True, ondelete='CASCADE')
    year = fields.Integer("Year", required=True)
    month = fields.Integer("Month", required=True)
    amount = fields.Numeric("Amount", required=True)
    _keys = ['supplier', 'product', 'year', 'month']
    _figures = ['amount']

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('year', 'DESC'), ('month', 'DESC'), ('supplier', 'ASC'),
            ('product', 'ASC'), ('id', 'ASC')]
        t = cls.__table__()
        cls._sql_constraints += [
            ('key_unique', Unique(t, t.supplier, t.product, t.year, t.month),
                'relief_report.msg_origin_bought_unique'),
            ]

    @classmethod
    def rows_query(cls, where=None):
        """Return the (supplier, product, year, month, amount) rows of the
        lines of confirmed purchases that match where(purchase, line)"""
        pool = Pool()
        purchase = pool.get('purchase.purchase').__table__()
        line = pool.get('purchase.line').__table__()
        condition = (purchase.state.in_(PURCHASED)
            & (purchase.purchase_date != Null)
            & (line.product != Null))
        if where is not None:
            condition &= where(purchase, line)
        return line.join(purchase, condition=line.purchase == purchase.id
            ).select(
            purchase.party.as_('supplier'),
            line.product.as_('product'),
            Extract('YEAR', purchase.purchase_date).as_('year'),
            Extract('MONTH', purchase.purchase_date).as_('month'),
            (_number(line.unit_price) * Cast(line.quantity, 'NUMERIC')
                ).as_('amount'),
            where=condition)


class Purchase(metaclass=PoolMeta):
    __name__ = 'purchase.purchase'

    @classmethod
    def write(cls, *args):
        Bought = Pool().get('relief.report.origin.bought')
        ids = cls._origin_changed(args)
        done = [Bought.track(
                lambda purchase, line, ids=sub: purchase.id.in_(ids))
            for sub in slices(ids)]
        super().write(*args)
        for add in done:
            add()

    @classmethod
    def _origin_changed(cls, args):
        "Return the ids of the purchases whose counted lines the write changes"
        ids = set()
        actions = iter(args)
        for purchases, values in zip(actions, actions):
            if 'state' in values:
                counted = values['state'] in PURCHASED
                ids.update(p.id for p in purchases
                    if (p.state in PURCHASED) != counted)
            if values.keys() & {'purchase_date', 'party'}:
                ids.update(p.id for p in purchases if p.state in PURCHASED)
        return sorted(ids)


class PurchaseLine(metaclass=PoolMeta):
    __name__ = 'purchase.line'

    @classmethod
    def write(cls, *args):
        Bought = Pool().get('relief.report.origin.bought')
        ids = set()
        actions = iter(args)
        for lines, values in zip(actions, actions):
            if values.keys() & {'quantity', 'unit_price', 'product',
                    'purchase'}:
                ids.update(line.id for line in lines)
        done = [Bought.track(
                lambda purchase, line, ids=sub: line.id.in_(ids))
            for sub in slices(sorted(ids))]
        super().write(*args)
        for add in done:
            add()
