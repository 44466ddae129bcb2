# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.pool import PoolMeta


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # The boards' rule (dashboard.xml) reads the user's id, as relief
        # gives it to the wizard sessions' rule
        cls._user_models = cls._user_models | {'dashboard.action'}
