# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Relief spending by union, month and channel: the running totals that
the progress report rolls up."""
from collections import defaultdict
from decimal import Decimal

from sql import Cast, Conflict, Literal, Null, Union, Values
from sql.aggregate import Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Extract, Round

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.modules.relief.totals import Excluded, add_amounts
from trytond.modules.relief_union.party import slices
from trytond.modules.relief_union.sale import SPENDING
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .exceptions import SpendingAccessError

CHANNELS = [
    ('b2b', "Union Orders"),
    ('mall', "Member Mall"),
    ('counter', "Counters and Cabinets"),
    ('offplatform', "Off-Platform Purchases"),
    ]
# The columns of relief.report.spending.to_date, one per channel
CHANNELS_TO_DATE = [c for c, _ in CHANNELS]
# The channels of the platform; off-platform purchases are shown apart
PLATFORM = ['b2b', 'mall', 'counter']


def add_figures(table, keys, figures, rows):
    """Add rows of (key values..., figures...) to the figures of table

    keys are the names of the columns of its unique constraint.  One
    statement, safe when two transactions add a key that is not there yet
    (relief's add_amounts, with several figures)."""
    if not rows:
        return
    keys = [getattr(table, k) for k in keys]
    columns = [getattr(table, f) for f in figures]
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.insert(keys + columns, rows,
            on_conflict=Conflict(table, indexed_columns=keys,
                columns=columns, values=[
                    c + getattr(Excluded, f)
                    for c, f in zip(columns, figures)])))


class Spending(ModelSQL, ModelView):
    """Relief Spending by Month and Channel

    What each union and its members bought of relief goods, by year, month
    and channel.  Kept by the same writes as relief_union's yearly totals
    (relief.union.spending.track), by verified off-platform purchases
    (offplatform.py); rebuild() recomputes it on every update."""
    __name__ = 'relief.report.spending'

    union = fields.Many2One(
        'party.party', "Union", required=True, ondelete='CASCADE')
    year = fields.Integer("Year", required=True)
    month = fields.Integer("Month", required=True)
    channel = fields.Selection(CHANNELS, "Channel", required=True)
    amount = fields.Numeric("Amount", digits=(16, 2), required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('year', 'DESC'), ('month', 'DESC'), ('union', 'ASC'),
            ('channel', 'ASC'), ('id', 'ASC')]
        t = cls.__table__()
        cls._sql_constraints += [
            ('key_unique', Unique(t, t.union, t.year, t.month, t.channel),
                'relief_report.msg_spending_unique'),
            ]

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
                gettext('relief_report.msg_spending_modify'))

    @classmethod
    def sale_channel(cls, sale):
        "Return the SQL channel of a sale.sale row"
        return Literal('b2b')

    @classmethod
    def sales_query(cls, where=None):
        """Return the (union, year, month, channel, amount) rows of the
        counted sale lines that match where(sale, line)"""
        pool = Pool()
        sale = pool.get('sale.sale').__table__()
        line = pool.get('sale.line').__table__()
        # As relief_union counts it: cancelled goods are out
        amount = Case((line.quantity != 0, line.relief_amount * Cast(
                    Coalesce(line.actual_quantity, line.quantity)
                    / line.quantity, 'NUMERIC')), else_=0)
        condition = (sale.state.in_(SPENDING)
            & (sale.relief_union != Null)
            & (sale.sale_date != Null)
            & (line.relief_amount != Null))
        if where is not None:
            condition &= where(sale, line)
        return line.join(sale, condition=line.sale == sale.id).select(
            sale.relief_union.as_('union'),
            Extract('YEAR', sale.sale_date).as_('year'),
            Extract('MONTH', sale.sale_date).as_('month'),
            cls.sale_channel(sale).as_('channel'),
            amount.as_('amount'),
            where=condition)

    @classmethod
    def offplatform_query(cls):
        "Return the rows of the verified off-platform purchases"
        Purchase = Pool().get('relief.report.offplatform')
        purchase = Purchase.__table__()
        return purchase.select(
            purchase.union.as_('union'),
            Extract('YEAR', purchase.date).as_('year'),
            Extract('MONTH', purchase.date).as_('month'),
            Literal('offplatform').as_('channel'),
            purchase.amount.as_('amount'),
            where=purchase.state == 'verified')

    @classmethod
    def other_queries(cls):
        "Return the queries of the channels other than sale.sale"
        return [cls.offplatform_query()]

    @classmethod
    def _grouped(cls, rows):
        # A subquery: the year and month expressions grouped by alias
        return rows.select(
            rows.union, Cast(rows.year, 'INTEGER').as_('year'),
            Cast(rows.month, 'INTEGER').as_('month'), rows.channel,
            Sum(rows.amount).as_('amount'),
            group_by=[rows.union, rows.year, rows.month, rows.channel])

    @classmethod
    def amounts(cls, query):
        "Return the amounts by key of the rows of query"
        cursor = Transaction().connection.cursor()
        cursor.execute(*cls._grouped(query))
        # SQLite adds NUMERIC as floats
        return {(u, int(y), int(m), c): Decimal(str(a))
            for u, y, m, c, a in cursor}

    @classmethod
    def add(cls, before, after):
        "Add the difference of two amounts by key to the totals"
        changes = defaultdict(Decimal)
        for key, amount in after.items():
            changes[key] += amount
        for key, amount in before.items():
            changes[key] -= amount
        changes = {k: a.quantize(Decimal('0.01'))
            for k, a in changes.items() if a}
        if changes:
            add_amounts(cls.__table__(),
                ['union', 'year', 'month', 'channel'],
                [[*k, a] for k, a in changes.items()])
            Pool().get('relief.report.spending.to_date').add(changes)

    @classmethod
    def rebuild(cls):
        "Recompute every total from the sales and purchases (set-based)"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.delete())
        rows = cls._grouped(Union(
                cls.sales_query(), *cls.other_queries(), all_=True))
        cursor.execute(*table.insert(
                [table.union, table.year, table.month, table.channel,
                    table.amount],
                rows.select(rows.union, rows.year, rows.month, rows.channel,
                    Coalesce(rows.amount, 0))))
        Pool().get('relief.report.spending.to_date').rebuild()

    @classmethod
    def track(cls, where):
        """Return a function that, called after a change to the sale lines
        in where, adds what the change made to the totals"""
        before = cls.amounts(cls.sales_query(where))
        return lambda: cls.add(before, cls.amounts(cls.sales_query(where)))


class SpendingToDate(ModelSQL):
    """Relief Spending to Date

    Each union's own spending of a month by channel and of the year up to
    that month (every channel): relief.report.spending summed, so that the
    progress of a month reads a row per union instead of every month's.
    A row per union, year and month from the union's first month with
    spending to December; kept by Spending.add, recomputed by
    Spending.rebuild."""
    __name__ = 'relief.report.spending.to_date'

    union = fields.Many2One(
        'party.party', "Union", required=True, ondelete='CASCADE')
    year = fields.Integer("Year", required=True)
    month = fields.Integer("Month", required=True)
    b2b = fields.Numeric("Union Orders", digits=(16, 2), required=True)
    mall = fields.Numeric("Member Mall", digits=(16, 2), required=True)
    counter = fields.Numeric(
        "Counters and Cabinets", digits=(16, 2), required=True)
    offplatform = fields.Numeric(
        "Off-Platform Purchases", digits=(16, 2), required=True)
    cumulative = fields.Numeric(
        "Total to Date", digits=(16, 2), required=True,
        help="Every channel from January to the month.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('year', 'DESC'), ('month', 'DESC'), ('union', 'ASC'),
            ('id', 'ASC')]
        t = cls.__table__()
        # The year and month first: the progress of a month reads its rows
        cls._sql_constraints += [
            ('key_unique', Unique(t, t.year, t.month, t.union),
                'relief_report.msg_spending_to_date_unique'),
            ]

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if external:
            raise SpendingAccessError(
                gettext('relief_report.msg_spending_modify'))

    @classmethod
    def add(cls, changes):
        """Add the changes of relief.report.spending, amounts by (union,
        year, month, channel), to their month and to those after it"""
        figures = CHANNELS_TO_DATE + ['cumulative']
        rows = defaultdict(lambda: [Decimal(0)] * len(figures))
        for (union, year, month, channel), amount in changes.items():
            rows[union, year, month][figures.index(channel)] += amount
            for later in range(month, 13):
                rows[union, year, later][-1] += amount
        add_figures(cls.__table__(), ['union', 'year', 'month'], figures,
            [[*k, *v] for k, v in rows.items()])

    @classmethod
    def rebuild(cls):
        "Recompute every row from relief.report.spending (set-based)"
        spending = Pool().get('relief.report.spending').__table__()
        table = cls.__table__()
        months = Values([[m] for m in range(1, 13)])
        month = months.column1
        amount = spending.amount
        if backend.name == 'sqlite':
            # A decimal is stored as text
            amount = Cast(amount, 'REAL')

        def channel(name):
            return Sum(Case(((spending.channel == name)
                        & (spending.month == month), amount), else_=0))
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.delete())
        cursor.execute(*table.insert(
                [table.union, table.year, table.month,
                    *(getattr(table, c) for c in CHANNELS_TO_DATE),
                    table.cumulative],
                spending.join(months,
                    condition=spending.month <= month).select(
                    spending.union, spending.year, month,
                    *(channel(c) for c in CHANNELS_TO_DATE),
                    Sum(amount),
                    group_by=[spending.union, spending.year, month])))


class UnionSpending(metaclass=PoolMeta):
    __name__ = 'relief.union.spending'

    @classmethod
    def track(cls, where):
        # The sales that change the yearly totals change the monthly ones
        # and the products' (origin_totals.py)
        pool = Pool()
        done = super().track(where)
        monthly = pool.get('relief.report.spending').track(where)
        sold = pool.get('relief.report.origin.sold').track(where)

        def add():
            done()
            monthly()
            sold()
        return add


class SpendingMall(metaclass=PoolMeta):
    __name__ = 'relief.report.spending'

    @classmethod
    def sale_channel(cls, sale):
        # The member mall's orders are those of a web shop
        return Case((sale.web_shop != Null, 'mall'), else_='b2b')


class SpendingCounter(metaclass=PoolMeta):
    __name__ = 'relief.report.spending'

    @classmethod
    def counter_query(cls, where=None):
        """Return the rows of the counters' and cabinets' sales to members
        (done or posted) that match where(sale): the relief products at
        the member's price without taxes (as the union orders' amounts),
        counted for the member's union"""
        pool = Pool()
        sale = pool.get('sale.point.sale').__table__()
        line = pool.get('sale.point.sale.line').__table__()
        member = pool.get('party.party').__table__()
        product = pool.get('product.product').__table__()
        template = pool.get('product.template').__table__()
        condition = (sale.state.in_(['done', 'posted'])
            & (member.member_union != Null)
            & (template.relief == Literal(True)))
        if where is not None:
            condition &= where(sale)
        return (line
            .join(sale, condition=line.sale == sale.id)
            .join(member, condition=sale.member == member.id)
            .join(product, condition=line.product == product.id)
            .join(template, condition=product.template == template.id)
            .select(
                member.member_union.as_('union'),
                Extract('YEAR', sale.date).as_('year'),
                Extract('MONTH', sale.date).as_('month'),
                Literal('counter').as_('channel'),
                Round(Cast(line.quantity, 'NUMERIC')
                    * line.unit_list_price, 2).as_('amount'),
                where=condition))

    @classmethod
    def other_queries(cls):
        return super().other_queries() + [cls.counter_query()]

    @classmethod
    def track_counter(cls, ids):
        """Return a function that, called after a change to the counter
        sales of ids, adds what the change made to the totals"""
        wheres = [lambda sale, sub=sub: sale.id.in_(sub) for sub in slices(ids)]
        before = [cls.amounts(cls.counter_query(w)) for w in wheres]

        def add():
            for where, amounts in zip(wheres, before):
                cls.add(amounts, cls.amounts(cls.counter_query(where)))
        return add


class POSSale(metaclass=PoolMeta):
    __name__ = 'sale.point.sale'

    @classmethod
    def do(cls, sales):
        add = Pool().get('relief.report.spending').track_counter(
            [s.id for s in sales])
        super().do(sales)
        add()

    @classmethod
    def open(cls, sales):
        add = Pool().get('relief.report.spending').track_counter(
            [s.id for s in sales])
        super().open(sales)
        add()

    @classmethod
    def feed_insert(cls, point, sales):
        # The devices' sales are inserted done, set-based
        super().feed_insert(point, sales)
        Spending = Pool().get('relief.report.spending')
        ids = [s.record_id for s in sales if s.state == 'done']
        for sub in slices(ids):
            Spending.add({}, Spending.amounts(Spending.counter_query(
                        lambda sale: sale.id.in_(sub))))
