# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.cache import Cache
from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction


class User(metaclass=PoolMeta):
    __name__ = 'res.user'
    _get_relief_unions_cache = Cache(
        'res.user.get_relief_unions', context=False)

    relief_union = fields.Many2One(
        'party.party', "Union", ondelete='SET NULL',
        domain=[('union_level', '!=', None)],
        context={'company': Eval('company', -1)}, depends=['company'],
        help="For a union accountant: the union whose records, and those "
        "of the unions below it, the user may see.")

    @classmethod
    def get_relief_unions(cls):
        "Return the ids of the union of the user (a list for child_of)"
        user_id = Transaction().user
        unions = cls._get_relief_unions_cache.get(user_id)
        if unions is None:
            user = cls(user_id)
            unions = [user.relief_union.id] if user.relief_union else []
            cls._get_relief_unions_cache.set(user_id, unions)
        return unions

    @classmethod
    def on_modification(cls, mode, users, field_names=None):
        super().on_modification(mode, users, field_names=field_names)
        cls._get_relief_unions_cache.clear()
