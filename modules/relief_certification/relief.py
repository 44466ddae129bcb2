# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import fields
from trytond.pool import PoolMeta


class Configuration(metaclass=PoolMeta):
    __name__ = 'relief.configuration'

    purchase_cap_period = fields.Selection([
            ('year', "Calendar Year"),
            ('quarter', "Quarter"),
            ('month', "Month"),
            ], "Purchase Cap Period",
        help="The period over which a supplier's purchases are added up "
        "against its cap.")

    @classmethod
    def default_purchase_cap_period(cls):
        return 'year'


class Rule(metaclass=PoolMeta):
    __name__ = 'relief.rule'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.kind.selection.append(
            ('purchase_cap_per_person',
                "Purchase Cap per Poor Person per Period"))
