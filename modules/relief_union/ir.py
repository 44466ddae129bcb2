# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from collections import defaultdict

from trytond.model import Model
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

_RELATIONS = {'many2one', 'one2one', 'one2many', 'many2many', 'reference'}


def check_export_rules(Model_, records, fields_names):
    """Check in SQL the read rules of every record an export reaches.

    export_data evaluates record rules in Python, where child_of (the union
    rules), dotted and 'where' clauses (the rules of lines and addresses)
    hold for any record: without this, any record is exported by its id."""
    transaction = Transaction()
    if not transaction.user or not transaction.check_access:
        return
    todo = [(Model_, records, [n.split('/') for n in fields_names])]
    while todo:
        Model_, records, paths = todo.pop()
        ids = list({r.id for r in records if r.id is not None and r.id >= 0})
        if not ids:
            continue
        # Raises the rule's AccessError for a record it hides
        Model_.read(ids, ['id'])
        related = defaultdict(list)
        for path in paths:
            name = path[0].split('.', 1)[0].split(':lang=', 1)[0]
            field = Model_._fields.get(name)
            if field is not None and field._type in _RELATIONS:
                related[name].append(path[1:])
        for name, subpaths in related.items():
            targets = defaultdict(list)
            for record in records:
                value = getattr(record, name)
                for target in (value if isinstance(value, (list, tuple))
                        else [value]):
                    if isinstance(target, Model):
                        targets[target.__class__].append(target)
            subpaths = [p for p in subpaths if p]
            for Target, values in targets.items():
                todo.append((Target, values, subpaths))


class ExportRulesMixin:
    "Check the record rules of an export in SQL (see check_export_rules)"
    __slots__ = ()

    @classmethod
    def export_data(cls, records, fields_names, header=False):
        check_export_rules(cls, records, fields_names)
        return super().export_data(records, fields_names, header=header)


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    @classmethod
    def _get_cache_key(cls, model_names):
        User = Pool().get('res.user')
        key = super()._get_cache_key(model_names)
        return (*key, User.get_relief_unions())

    @classmethod
    def _get_context(cls, model_name):
        User = Pool().get('res.user')
        context = super()._get_context(model_name)
        # The union accountant's record rules: their union and below
        context['relief_unions'] = User.get_relief_unions()
        return context
