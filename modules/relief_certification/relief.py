# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.cache import Cache
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

    _cap_period_cache = Cache(
        'relief.configuration.purchase_cap_period', context=False)

    @classmethod
    def default_purchase_cap_period(cls):
        return 'year'

    @classmethod
    def get_purchase_cap_period(cls):
        "The cap period, cached: it is read on every confirmation"
        period = cls._cap_period_cache.get('period')
        if period is None:
            period = cls(1).purchase_cap_period or 'year'
            cls._cap_period_cache.set('period', period)
        return period

    @classmethod
    def on_modification(cls, mode, configurations, field_names=None):
        super().on_modification(
            mode, configurations, field_names=field_names)
        cls._cap_period_cache.clear()


class Rule(metaclass=PoolMeta):
    __name__ = 'relief.rule'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.kind.selection.append(
            ('purchase_cap_per_person',
                "Purchase Cap per Poor Person per Period"))
