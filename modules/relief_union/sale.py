# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from decimal import Decimal

from trytond.model import Index, ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from .ir import ExportRulesMixin

# Sales whose relief goods count as a union's spending
SPENDING = ['confirmed', 'processing', 'done']


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
        total = relief = Decimal(0)
        for component in product.components_used:
            # The variant price falls back on the template's (list_price_used)
            value = (component.product.list_price_used or 0) * Decimal(
                str(component.quantity))
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
