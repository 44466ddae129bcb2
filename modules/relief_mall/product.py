# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import fields
from trytond.pool import PoolMeta


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'

    mall_preorder = fields.Boolean(
        "Pre-order in the Mall",
        help="The member mall takes orders beyond the stock available "
        "(delivered when the goods arrive).")

    @classmethod
    def default_mall_preorder(cls):
        return False
