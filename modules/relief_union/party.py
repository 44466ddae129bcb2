# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from sql import Null
from sql.aggregate import Sum
from sql.conditionals import Case, Coalesce

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, Unique, fields
from trytond.model.fields import SQL_OPERATORS
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .exceptions import MemberError, UnionTreeError
from .ir import ExportRulesMixin

LEVELS = [
    (None, ""),
    ('province', "Provincial Federation"),
    ('city', "City Federation"),
    ('county', "County Federation"),
    ('industry', "Provincial Industry Union"),
    ('direct', "Directly Administered Unit"),
    ('grassroots', "Grassroots Union"),
    ]


def slices(ids):
    "Return ids in lists as long as a query takes"
    return map(list, grouped_slice(ids, backend.MAX_QUERY_PARAMS))


class Party(ExportRulesMixin, metaclass=PoolMeta):
    __name__ = 'party.party'

    union_level = fields.Selection(
        LEVELS, "Union Level", sort=False,
        help="Set for a trade union, the buyers of the programme.")
    union_parent = fields.Many2One(
        'party.party', "Upper Union", ondelete='RESTRICT',
        left='union_left', right='union_right',
        domain=[
            ('union_level', '!=', None),
            ('union_level', '!=', 'grassroots'),
            ('id', '!=', Eval('id', -1)),
            ],
        states={
            'invisible': ~Eval('union_level'),
            'required': Eval('union_level').in_(
                ['city', 'county', 'industry', 'direct', 'grassroots']),
            })
    # Only unions have a place in the nested set: members and suppliers
    # keep NULL, so adding a union never shifts millions of rows.
    union_left = fields.Integer("Union Left", required=False)
    union_right = fields.Integer("Union Right", required=False)
    union_children = fields.One2Many(
        'party.party', 'union_parent', "Unions Below", readonly=True,
        states={'invisible': ~Eval('union_level')})
    union_area = fields.Many2One(
        'country.subdivision', "Area", ondelete='RESTRICT',
        domain=[('relief_level', 'in', ['province', 'city', 'county'])],
        states={
            'invisible': ~Eval('union_level'),
            'required': Bool(Eval('union_level')),
            },
        help="The province, city or county where the union is: its fund "
        "rules are those in force there.")
    union_members = fields.Integer(
        "Members", domain=[
            If(Eval('union_members', None) != None,  # noqa: E711
                ('union_members', '>=', 0), ())],
        states={'invisible': ~Eval('union_level')},
        help="The union's own members (职工).")
    union_grassroots_total = fields.Function(fields.Integer(
            "Grassroots Unions (Total)",
            states={'invisible': ~Eval('union_level')}),
        'get_union_totals')
    union_members_total = fields.Function(fields.Integer(
            "Members (Total)",
            states={'invisible': ~Eval('union_level')}),
        'get_union_totals')
    union_top = fields.Function(fields.Boolean("Top Union"),
        'get_union_top', searcher='search_union_top')

    member_union = fields.Many2One(
        'party.party', "Member of Union", ondelete='RESTRICT',
        domain=[('union_level', '!=', None)],
        states={'invisible': Bool(Eval('union_level'))},
        help="For a union member (会员) who buys in the member mall.")
    member_number = fields.Char(
        "Member Number",
        states={
            'invisible': ~Eval('member_union'),
            'required': Bool(Eval('member_union')),
            },
        help="Unique in the province.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('member_number_unique', Unique(t, t.member_number),
                'relief_union.msg_member_number_unique'),
            ]
        cls._sql_indexes.update({
                Index(t,
                    (t.union_left, Index.Range()),
                    (t.union_right, Index.Range()),
                    where=t.union_left != Null),
                Index(t, (t.union_parent, Index.Equality()),
                    where=t.union_parent != Null),
                Index(t, (t.member_union, Index.Equality()),
                    where=t.member_union != Null),
                })

    @classmethod
    def _union_ids(cls, ids):
        "Return the ids that are unions"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        unions = []
        for sub_ids in slices(ids):
            cursor.execute(*table.select(table.id,
                    where=SQL_OPERATORS['in'](table.id, sub_ids)
                    & (table.union_level != Null)))
            unions.extend(i for i, in cursor)
        return unions

    @classmethod
    def _update_mptt(cls, field_names, list_ids, values=None):
        names, lists = [], []
        for name, ids in zip(field_names, list_ids):
            if name == 'union_parent':
                ids = cls._prepare_union_tree(ids)
                if not ids:
                    continue
            names.append(name)
            lists.append(ids)
        if names:
            super()._update_mptt(names, lists, values)

    @classmethod
    def _prepare_union_tree(cls, ids):
        "Take non-unions out of the tree and return the unions among ids"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        ids = list(ids)
        unions = cls._union_ids(ids)
        others = sorted(set(ids) - set(unions))
        for sub_ids in slices(unions):
            # _update_tree places a new node from left = right = 0
            cursor.execute(*table.update(
                    [table.union_left, table.union_right], [0, 0],
                    where=SQL_OPERATORS['in'](table.id, sub_ids)
                    & (table.union_left == Null)))
        for sub_ids in slices(others):
            cursor.execute(*table.update(
                    [table.union_left, table.union_right], [Null, Null],
                    where=SQL_OPERATORS['in'](table.id, sub_ids)
                    & (table.union_left != Null)))
        return unions

    @classmethod
    def _rebuild_tree(cls, parent, parent_id, left):
        if parent != 'union_parent':
            return super()._rebuild_tree(parent, parent_id, left)
        # Tryton walks the tree with a query per node and every party
        # without a parent is a root: build it in memory from the unions.
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.id, table.union_parent,
                where=table.union_level != Null,
                order_by=[table.id.asc]))
        children = {}
        for id_, parent_id_ in cursor:
            children.setdefault(parent_id_, []).append(id_)
        positions = {}
        counter = left
        stack = [(None, iter(children.get(None, [])))]
        while stack:
            node, iterator = stack[-1]
            child = next(iterator, None)
            if child is not None:
                counter += 1
                positions[child] = [counter, None]
                stack.append((child, iter(children.get(child, []))))
            else:
                stack.pop()
                if node is not None:
                    counter += 1
                    positions[node][1] = counter
        # Unions whose upper union is not a union (data to fix) stay out
        cls._write_positions(positions)
        cursor.execute(*table.update(
                [table.union_left, table.union_right], [Null, Null],
                where=(table.union_left != Null)
                & (table.union_level == Null)))
        return counter + 1

    @classmethod
    def _write_positions(cls, positions):
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        by_left = {}
        for id_, (left, right) in positions.items():
            by_left.setdefault(right - left, []).append((id_, left))
        # Nodes of one size share the update: right = left + size
        for size, nodes in by_left.items():
            for sub_nodes in grouped_slice(nodes, 1000):
                sub_nodes = list(sub_nodes)
                cursor.execute(*table.update(
                        [table.union_left, table.union_right],
                        [Case(*((table.id == i, l) for i, l in sub_nodes)),
                            Case(*((table.id == i, l + size)
                                    for i, l in sub_nodes))],
                        where=SQL_OPERATORS['in'](
                            table.id, [i for i, _ in sub_nodes])))

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        for parties, values in zip(actions, actions):
            if values.get('member_number'):
                cls.check_member_numbers(
                    [(values['member_number'], p.rec_name) for p in parties],
                    exclude=[p.id for p in parties])
        super().write(*args)
        actions = iter(args)
        moved = []
        for parties, values in zip(actions, actions):
            if 'union_level' in values and 'union_parent' not in values:
                moved.extend(p.id for p in parties)
        if moved:
            # Becoming or ceasing to be a union moves a party in the tree
            cls._update_mptt(['union_parent'], [moved])

    @classmethod
    def get_union_totals(cls, parties, names):
        "Roll the grassroots unions and members up the tree in one query"
        table = cls.__table__()
        descendant = cls.__table__()
        cursor = Transaction().connection.cursor()
        result = {n: dict.fromkeys(map(int, parties)) for n in names}
        ids = [p.id for p in parties if p.union_level]
        for sub_ids in slices(ids):
            cursor.execute(*table.join(descendant, condition=(
                        descendant.union_left >= table.union_left)
                    & (descendant.union_left < table.union_right)
                    ).select(table.id,
                    Sum(Case(
                            (descendant.union_level == 'grassroots', 1),
                            else_=0)),
                    Sum(Coalesce(descendant.union_members, 0)),
                    where=SQL_OPERATORS['in'](table.id, sub_ids),
                    group_by=[table.id]))
            for id_, grassroots, members in cursor:
                if 'union_grassroots_total' in result:
                    result['union_grassroots_total'][id_] = grassroots
                if 'union_members_total' in result:
                    result['union_members_total'][id_] = members
        return result

    @classmethod
    def get_union_top(cls, parties, name):
        "Whether the union is a root of the tree the user sees"
        User = Pool().get('res.user')
        unions = User.get_relief_unions()
        return {p.id: (p.id in unions) if unions
            else bool(p.union_level and not p.union_parent) for p in parties}

    @classmethod
    def search_union_top(cls, name, clause):
        User = Pool().get('res.user')
        _, operator, value = clause[:3]
        unions = User.get_relief_unions()
        if (operator == '=') == bool(value):
            if unions:
                return [('id', 'in', unions)]
            return [('union_level', '!=', None), ('union_parent', '=', None)]
        if unions:
            return [('id', 'not in', unions)]
        return ['OR', ('union_level', '=', None), ('union_parent', '!=', None)]

    @classmethod
    def validate_fields(cls, parties, field_names):
        super().validate_fields(parties, field_names)
        cls.check_union_parent(parties, field_names)
        cls.check_union_quota(parties, field_names)

    @classmethod
    def check_union_quota(cls, parties, field_names=None):
        "Refuse moving a union with quota under one that does not hold it"
        Plan = Pool().get('relief.union.plan')
        if field_names and 'union_parent' not in field_names:
            return
        keys = set()
        for sub_ids in slices([p.id for p in parties if p.union_parent]):
            for plan in Plan.search([
                        ('union', 'in', sub_ids),
                        ('quota', '!=', None),
                        ]):
                keys.add((plan.union.union_parent.id, plan.year))
        Plan.check_quota_held(keys)

    @classmethod
    def check_union_parent(cls, parties, field_names=None):
        "Refuse a union that would become its own ancestor"
        if field_names and 'union_parent' not in field_names:
            return
        for party in parties:
            seen, parent = {party}, party.union_parent
            while parent:
                if parent in seen:
                    raise UnionTreeError(gettext(
                            'relief_union.msg_union_own_ancestor',
                            union=party.rec_name,
                            parent=party.union_parent.rec_name))
                seen.add(parent)
                parent = parent.union_parent

    @classmethod
    def create(cls, vlist):
        cls.check_member_numbers(
            [(v.get('member_number'), v.get('name')) for v in vlist])
        return super().create(vlist)

    @classmethod
    def check_member_numbers(cls, pairs, exclude=()):
        """Refuse member numbers already used, naming their member.

        The unique constraint decides when two transactions race; this is
        checked before writing to name the number and who has it."""
        seen = {}
        for number, name in pairs:
            if not number:
                continue
            if number in seen:
                raise MemberError(gettext(
                        'relief_union.msg_member_number_used',
                        party=name, number=number, other=seen[number]))
            seen[number] = name
        for sub_numbers in slices(list(seen)):
            for other in cls.search([
                        ('member_number', 'in', list(sub_numbers)),
                        ('id', 'not in', list(exclude)),
                        ], limit=1):
                raise MemberError(gettext(
                        'relief_union.msg_member_number_used',
                        party=seen[other.member_number],
                        number=other.member_number, other=other.rec_name))

    @classmethod
    def copy(cls, parties, default=None):
        default = default.copy() if default is not None else {}
        # Tryton resets the nested-set columns itself (and refuses them
        # as defaults); the member number is unique, so it is not copied,
        # nor are the unions below: a copy is a new union, not a subtree.
        default.setdefault('member_number')
        default.setdefault('union_children')
        return super().copy(parties, default=default)


# The party's rule applies to these through __access__: their export is
# checked in SQL too (a member's address, phone and identifiers).
class Address(ExportRulesMixin, metaclass=PoolMeta):
    __name__ = 'party.address'


class ContactMechanism(ExportRulesMixin, metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'


class Identifier(ExportRulesMixin, metaclass=PoolMeta):
    __name__ = 'party.identifier'
