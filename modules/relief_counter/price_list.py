# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A price list's formula reads the product's prices when it names them.

A counter prices each line of a member's sale with the point's member price
list.  product_price_list reads the product's cost price and list price
(company-dependent values, several queries a product) before it evaluates
the formula, whether the formula names them or not: a member list's
``list_price * Decimal('0.9')`` never reads the cost price, and now does
not pay for it."""
from decimal import Decimal

from trytond.pool import PoolMeta
from trytond.tools.decimal_ import DecimalNull as Null


class LazyNames(dict):
    "Names of a formula, those of getters computed on their first reading"
    __slots__ = ('getters',)

    def __init__(self, names, getters):
        super().__init__(
            (k, v) for k, v in names.items() if k not in getters)
        self.getters = getters

    def __missing__(self, key):
        # simpleeval reads a name with names[key]: only a name of the
        # formula reaches here; KeyError for others, as a dict
        value = self[key] = self.getters[key]()
        return value


class PriceList(metaclass=PoolMeta):
    __name__ = 'product.price_list'

    def get_context_formula(self, product, quantity, uom, pattern=None):
        # super's names without a product (no query: Null prices), then
        # the product's prices as product_price_list computes them, each
        # when the formula reads it
        context = super().get_context_formula(
            None, quantity, uom, pattern=pattern)
        if not product:
            return context

        def cost_price():
            return product.get_multivalue('cost_price') or Decimal(0)

        def list_price():
            price = product.list_price_used
            return price if price is not None else Null()

        def unit_price():
            return {'list_price': list_price, 'cost_price': cost_price}.get(
                self.price, Null)()

        context['names'] = LazyNames(context['names'], {
                'cost_price': cost_price,
                'list_price': list_price,
                'unit_price': unit_price,
                })
        return context
