# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from collections import defaultdict
from decimal import Decimal

from sql import Cast, Null
from sql.aggregate import Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Extract

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.model.exceptions import AccessError
from trytond.modules.relief.totals import add_amounts
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .ir import ExportRulesMixin
from .party import slices

# Sales whose relief goods count as a union's spending
SPENDING = ['confirmed', 'processing', 'done']


class Spending(ExportRulesMixin, ModelSQL):
    """Union Relief Spending

    What each union and its members bought of relief goods in a year: the
    running totals that the compliance statement rolls up, so that it reads
    a row per union instead of every sale line.  Kept by Sale.write and
    Line.write (when a sale enters or leaves the counted states, or the
    actual quantity of a counted line changes); rebuild() recomputes it on
    every update."""
    __name__ = 'relief.union.spending'

    union = fields.Many2One(
        'party.party', "Union", required=True, ondelete='CASCADE')
    year = fields.Integer("Year", required=True)
    amount = fields.Numeric("Amount", digits=(16, 2), required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('union_year_unique', Unique(t, t.union, t.year),
                'relief_union.msg_spending_unique'),
            ]

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        # Sales counted while the module was deactivated count too
        cls.rebuild()

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        # The totals are kept in SQL by the sales (add, rebuild); no access
        # row grants a change, this holds if one ever did.
        if external:
            raise AccessError(gettext('relief_union.msg_spending_modify'))

    @classmethod
    def amounts_query(cls, where=None):
        """Return the (union, year, amount) of the counted sales' lines
        that match where (a condition on the sale and line tables)"""
        pool = Pool()
        Sale = pool.get('sale.sale')
        Line = pool.get('sale.line')
        sale = Sale.__table__()
        line = Line.__table__()
        # Goods of cancelled moves are out of the actual quantity
        amount = Case((line.quantity != 0, line.relief_amount * Cast(
                    Coalesce(line.actual_quantity, line.quantity)
                    / line.quantity, 'NUMERIC')), else_=0)
        condition = (sale.state.in_(SPENDING)
            & (sale.relief_union != Null)
            & (sale.sale_date != Null)
            & (line.relief_amount != Null))
        if where is not None:
            condition &= where(sale, line)
        # A subquery: the year expression is grouped by its alias
        rows = line.join(sale, condition=line.sale == sale.id).select(
            sale.relief_union.as_('union'),
            Extract('YEAR', sale.sale_date).as_('year'),
            amount.as_('amount'),
            where=condition)
        return rows.select(
            rows.union, rows.year, Sum(rows.amount).as_('amount'),
            group_by=[rows.union, rows.year])

    @classmethod
    def amounts(cls, where):
        "Return the amounts by (union, year) of the counted lines in where"
        cursor = Transaction().connection.cursor()
        cursor.execute(*cls.amounts_query(where))
        # SQLite adds NUMERIC as floats
        return {(u, int(y)): Decimal(str(a)) for u, y, a in cursor}

    @classmethod
    def add(cls, before, after):
        "Add the difference of two amounts by (union, year) to the totals"
        changes = defaultdict(Decimal)
        for key, amount in after.items():
            changes[key] += amount
        for key, amount in before.items():
            changes[key] -= amount
        changes = {k: a.quantize(Decimal('0.01'))
            for k, a in changes.items() if a}
        if not changes:
            return
        add_amounts(cls.__table__(), ['union', 'year'],
            [[u, y, a] for (u, y), a in changes.items()])

    @classmethod
    def rebuild(cls):
        "Recompute every total from the sales (set-based)"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.delete())
        amounts = cls.amounts_query()
        cursor.execute(*table.insert(
                [table.union, table.year, table.amount],
                amounts.select(
                    amounts.union, Cast(amounts.year, 'INTEGER'),
                    Coalesce(amounts.amount, 0))))

    @classmethod
    def track(cls, where):
        """Return a function that, called after a change to the lines in
        where, adds what the change made to the totals"""
        before = cls.amounts(where)
        return lambda: cls.add(before, cls.amounts(where))


class Sale(ExportRulesMixin, metaclass=PoolMeta):
    __name__ = 'sale.sale'

    relief_union = fields.Many2One(
        'party.party', "Union", readonly=True, ondelete='RESTRICT',
        states={'invisible': ~Eval('relief_union')},
        context={'company': Eval('company', -1)}, depends=['company'],
        help="The union whose relief spending the sale counts for: the "
        "customer when a union buys, its union when a member buys.\n"
        "Set when the sale is quoted.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t,
                (t.relief_union, Index.Equality()),
                (t.sale_date, Index.Range()),
                where=t.state.in_(SPENDING)))

    @classmethod
    def write(cls, *args):
        pool = Pool()
        Spending = pool.get('relief.union.spending')
        ids = cls._relief_spending_changed(args)
        done = [Spending.track(lambda sale, line, ids=sub: sale.id.in_(ids))
            for sub in slices(ids)]
        super().write(*args)
        for add in done:
            add()

    @classmethod
    def _relief_spending_changed(cls, args):
        "Return the ids of the sales whose counted spending the write changes"
        ids = set()
        actions = iter(args)
        for sales, values in zip(actions, actions):
            if 'state' in values:
                counted = values['state'] in SPENDING
                ids.update(s.id for s in sales
                    if (s.state in SPENDING) != counted)
            if values.keys() & {'sale_date', 'relief_union'}:
                ids.update(s.id for s in sales if s.state in SPENDING)
        return sorted(ids)

    @classmethod
    @ModelView.button
    @Workflow.transition('quotation')
    def quote(cls, sales):
        super().quote(sales)
        cls.set_relief_spending(sales)

    @classmethod
    def set_relief_spending(cls, sales):
        "Store the union and the relief value of each line"
        Line = Pool().get('sale.line')
        lines = []
        for sale in sales:
            party = sale.party
            if party.union_level:
                sale.relief_union = party
            else:
                sale.relief_union = party.member_union
            for line in sale.lines:
                amount = line.get_relief_amount()
                if line.relief_amount != amount:
                    line.relief_amount = amount
                    lines.append(line)
        cls.save(sales)
        Line.save(lines)

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('relief_union')
        return super().copy(sales, default=default)


class Line(ExportRulesMixin, metaclass=PoolMeta):
    __name__ = 'sale.line'

    relief_amount = fields.Numeric(
        "Relief Amount", digits=(16, 2), readonly=True,
        states={'invisible': ~Eval('relief_amount')},
        help="The part of the amount that buys poverty-relief products: "
        "all of it for a relief product, the share of its relief "
        "components for a gift pack.")

    @classmethod
    def write(cls, *args):
        pool = Pool()
        Spending = pool.get('relief.union.spending')
        ids = set()
        actions = iter(args)
        for lines, values in zip(actions, actions):
            # A confirmed line changes by its moves (actual quantity)
            if values.keys() & {'actual_quantity', 'quantity',
                    'relief_amount'}:
                ids.update(line.id for line in lines)
        done = [Spending.track(lambda sale, line, ids=sub: line.id.in_(ids))
            for sub in slices(sorted(ids))]
        super().write(*args)
        for add in done:
            add()

    def get_relief_amount(self):
        "Return the value of the relief products the line sells"
        if self.type != 'line' or not self.product or not self.amount:
            return None
        product = self.product
        if product.type == 'kit':
            share = self._relief_share(product)
            if not share:
                return None
            return self.currency.round(self.amount * share)
        if product.template.relief:
            return self.amount
        return None

    @staticmethod
    def _relief_share(product):
        "The share of a gift pack's value that its relief components make"
        Uom = Pool().get('product.uom')
        total = relief = Decimal(0)
        for component in product.components_used:
            # The price is per default unit, the quantity in the component's
            quantity = Uom.compute_qty(component.unit, component.quantity,
                component.product.default_uom, round=False)
            # The variant price falls back on the template's (list_price_used)
            value = (component.product.list_price_used or 0) * Decimal(
                str(quantity))
            total += value
            if component.product.template.relief:
                relief += value
        if total:
            return relief / total

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('relief_amount')
        return super().copy(lines, default=default)


# The union accountant's rules on invoices (sale.xml)
class Invoice(ExportRulesMixin, metaclass=PoolMeta):
    __name__ = 'account.invoice'


class InvoiceLine(ExportRulesMixin, metaclass=PoolMeta):
    __name__ = 'account.invoice.line'
