# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Progress month by month of each union's subtree: actual spending by
channel against the target and against the union's share of members."""
from sql import Cast, Literal, Null, Union, Values, Window, With
from sql.aggregate import Max, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Rank, Round

from trytond import backend
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.relief_union.party import LEVELS
from trytond.pool import Pool
from trytond.pyson import PYSONEncoder
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, record_cache_size
from trytond.wizard import StateAction, Wizard

TEN_THOUSAND = 10000
CHANNELS = ['b2b', 'mall', 'counter', 'offplatform']


def _year():
    "The year of the context, the current one by default"
    year = Transaction().context.get('year')
    if not year:
        year = Pool().get('ir.date').today().year
    return int(year)


def _month():
    """The month of the context, None for every month; to_date (a board's
    action, which has no context form) is the current month"""
    context = Transaction().context
    month = context.get('month')
    if not month and context.get('to_date'):
        month = Pool().get('ir.date').today().month
    return int(month) if month else None


def _ratio(numerator, denominator, factor=1):
    "numerator * factor / denominator rounded to 2 digits, NULL over 0"
    return Case((denominator > 0,
            Round(numerator * factor / denominator, 2)))


class Progress(ModelSQL, ModelView):
    "Relief Spending Progress"
    __name__ = 'relief.report.progress'

    union = fields.Many2One('party.party', "Union")
    level = fields.Selection(LEVELS, "Level", sort=False)
    upper_union = fields.Many2One('party.party', "Upper Union")
    city = fields.Many2One('country.subdivision', "City")
    county = fields.Many2One('country.subdivision', "County")
    year = fields.Integer("Year")
    month = fields.Integer("Month")
    b2b = fields.Numeric(
        "Union Orders (CNY)", digits=(16, 2),
        help="Relief spending of the month on the procurement platform "
        "(B2B union orders), the union and the unions below it.")
    mall = fields.Numeric(
        "Member Mall (CNY)", digits=(16, 2),
        help="Relief spending of the month of the members in the mall.")
    counter = fields.Numeric(
        "Counters and Cabinets (CNY)", digits=(16, 2))
    platform = fields.Numeric(
        "Platform (CNY)", digits=(16, 2),
        help="All the channels of the platform in the month.")
    offplatform = fields.Numeric(
        "Off-Platform (CNY)", digits=(16, 2),
        help="Verified purchases of designated-assistance units outside "
        "the platform (定点扶贫) in the month, shown apart.")
    total = fields.Numeric(
        "Total (CNY)", digits=(16, 2),
        help="Platform and verified off-platform spending of the month.")
    cumulative = fields.Numeric(
        "Total to Date (CNY)", digits=(16, 2),
        help="Every channel from January to the month.")
    target = fields.Numeric(
        "Target (CNY)", digits=(16, 2),
        help="The union's target of the year; for the provincial "
        "federation, the province's target when it has none of its own.")
    attainment = fields.Numeric(
        "Attainment (%)", digits=(16, 2),
        help="Total to date over the target.")
    members = fields.Integer(
        "Members", help="The members of the union and the unions below it.")
    member_share = fields.Numeric(
        "Share of Members (%)", digits=(16, 2),
        help="The union's members over the province's.")
    spending_share = fields.Numeric(
        "Share of Spending (%)", digits=(16, 2),
        help="The union's total to date over the province's.")
    fair_share = fields.Numeric(
        "Spending at Member Share (CNY)", digits=(16, 2),
        help="What the union would have spent to date with the province's "
        "spending per member: the province's total times its share of "
        "members.")
    per_member = fields.Numeric(
        "Spending per Member (CNY)", digits=(16, 2),
        help="Total to date over the members.")
    rank = fields.Integer(
        "Rank", help="By spending per member among the unions of the same "
        "level in the month (1: the most).")
    level_string = level.translated('level')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('city', 'ASC NULLS FIRST'),
            ('county', 'ASC NULLS FIRST'),
            ('level', 'ASC'),
            ('union', 'ASC'),
            ('month', 'ASC'),
            ('id', 'ASC'),
            ]

    @classmethod
    def browse(cls, ids):
        # trytond asserts, for each record, that every id of the list the
        # records share is an integer: n records cost n * n (the list of a
        # month read whole by the client, 60,000 rows: minutes).  The
        # records share lists of the record cache's size instead, as much
        # as a record reads ahead anyway.
        ids = list(ids)
        size = record_cache_size(Transaction())
        if len(ids) <= size:
            return super().browse(ids)
        records = []
        for sub in grouped_slice(ids, size):
            records.extend(super().browse(list(sub)))
        return records

    @classmethod
    def _number(cls, column):
        "column as a number whose division does not truncate"
        if backend.name == 'sqlite':
            return Cast(column, 'REAL')
        return Cast(column, 'NUMERIC')

    @classmethod
    def _amount(cls, column):
        if backend.name == 'sqlite':
            # A decimal is stored as text
            return Cast(column, 'REAL')
        return column

    @classmethod
    def subtree_query(cls, year):
        """Return each union's spending of its subtree by month and channel
        (for every month: the graph by month of a few unions); the nested
        set makes the subtree the range [left, right)"""
        pool = Pool()
        party = pool.get('party.party').__table__()
        below = pool.get('party.party').__table__()
        spending = pool.get('relief.report.spending').__table__()
        amount = cls._amount(spending.amount)

        def channel(name):
            return Sum(Case((spending.channel == name, amount), else_=0)
                ).as_(name)
        return (party
            .join(below, condition=(below.union_left >= party.union_left)
                & (below.union_left < party.union_right))
            .join(spending, condition=(spending.union == below.id)
                & (spending.year == year))
            .select(party.id.as_('union'), spending.month.as_('month'),
                *(channel(c) for c in CHANNELS),
                group_by=[party.id, spending.month]))

    @classmethod
    def own_query(cls, year, month):
        """Return each union's own spending by channel in month and to date:
        its row of the month in the running totals to date"""
        to_date = Pool().get('relief.report.spending.to_date').__table__()
        return to_date.select(
            to_date.union.as_('union'),
            *(cls._amount(getattr(to_date, c)).as_(c) for c in CHANNELS),
            cls._amount(to_date.cumulative).as_('cumulative'),
            where=(to_date.year == year) & (to_date.month == month))

    @classmethod
    def rollup_query(cls, year, month):
        """Return each union's subtree figures in month and to date, and its
        subtree's members.

        As relief_union's compliance: the nested set makes a subtree the
        range [left, right], so a running sum ordered by position gives a
        subtree's total as the sum at its right minus the sum before its
        left; a leaf's is its own, only the federations need their right
        end (a sort of one row per union, no join of each to its subtree)"""
        Party = Pool().get('party.party')
        party, federation = Party.__table__(), Party.__table__()
        own = cls.own_query(year, month)
        names = CHANNELS + ['cumulative', 'members']
        values = [Coalesce(getattr(own, n), 0) for n in names[:-1]] + [
            Coalesce(party.union_members, 0)]
        leaf = party.union_right == party.union_left + 1
        lefts = party.join(own, 'LEFT', condition=own.union == party.id
            ).select(
            party.id.as_('union'), party.union_left.as_('position'),
            *(v.as_(n) for v, n in zip(values, names)),
            Literal(0).as_('edge'), leaf.as_('leaf'),
            # Members hold positions in the tree but no figure: left out of
            # the sort (they are most of its rows)
            where=(party.union_left != Null) & (party.union_level != Null))
        rights = federation.select(
            federation.id.as_('union'),
            federation.union_right.as_('position'),
            *(Literal(0).as_(n) for n in names),
            Literal(1).as_('edge'), Literal(False).as_('leaf'),
            where=(federation.union_left != Null)
            & (federation.union_right != federation.union_left + 1))
        edges = Union(lefts, rights, all_=True)
        window = Window([], order_by=[edges.position.asc])
        running = With(query=edges.select(
                edges.union, edges.edge, edges.leaf,
                *(getattr(edges, n) for n in names),
                *(Sum(getattr(edges, n), window=window).as_('run_' + n)
                    for n in names)))
        leaves = running.select(running.union,
            *(getattr(running, n).as_(n) for n in names),
            where=running.leaf)

        def total(n):
            run, value = getattr(running, 'run_' + n), getattr(running, n)
            return (Sum(Case((running.edge == 1, run), else_=0))
                - Sum(Case((running.edge == 0, run - value), else_=0))
                ).as_(n)
        federations = running.select(running.union,
            *(total(n) for n in names),
            where=~running.leaf, group_by=[running.union])
        return Union(leaves, federations, all_=True, with_=[running])

    @classmethod
    def members_query(cls):
        "Return the members of each union's subtree"
        Party = Pool().get('party.party')
        party, below = Party.__table__(), Party.__table__()
        return party.join(below,
            condition=(below.union_left >= party.union_left)
            & (below.union_left < party.union_right)).select(
            party.id.as_('union'),
            Sum(Coalesce(below.union_members, 0)).as_('members'),
            group_by=[party.id])

    @classmethod
    def months_query(cls, year, month=None):
        """Return the union x month rows with their figures, or a row per
        union for month"""
        pool = Pool()
        Party = pool.get('party.party')
        union = Party.__table__()
        area = pool.get('country.subdivision').__table__()
        target = pool.get('relief.report.target').__table__()
        province = pool.get('relief.report.target').__table__()
        every_month = not month
        if month:
            sums = cls.rollup_query(year, month)
            members = sums
        else:
            sums = cls.subtree_query(year)
            members = cls.members_query()
        platform = (Coalesce(sums.b2b, 0) + Coalesce(sums.mall, 0)
            + Coalesce(sums.counter, 0))
        total = platform + Coalesce(sums.offplatform, 0)
        target_amount = Coalesce(target.amount, Case(
                (union.union_level == 'province', province.amount)))
        if month:
            # The month alone: its figures and those to date by union
            from_ = union.join(sums, 'LEFT', condition=sums.union == union.id)
            month = Literal(month)
            cumulative = Coalesce(sums.cumulative, 0)
        else:
            months = Values([[m] for m in range(1, 13)])
            month = months.column1
            from_ = union.join(months, 'CROSS').join(sums, 'LEFT',
                condition=(sums.union == union.id) & (sums.month == month))
            cumulative = Sum(total, window=Window([union.id],
                    order_by=[month.asc]))
        if every_month:
            from_ = from_.join(members, 'LEFT',
                condition=members.union == union.id)
        from_ = (from_
            .join(target, 'LEFT', condition=(target.union == union.id)
                & (target.year == year))
            .join(province, 'LEFT', condition=(province.union == Null)
                & (province.year == year))
            .join(area, 'LEFT', condition=area.id == union.union_area))
        return from_.select(
            (union.id * 100 + month).as_('id'),
            union.id.as_('union'),
            union.union_level.as_('level'),
            union.union_parent.as_('upper_union'),
            Case((area.relief_level == 'county', area.parent),
                (area.relief_level == 'city', area.id)).as_('city'),
            Case((area.relief_level == 'county', area.id)).as_('county'),
            Literal(year).as_('year'),
            month.as_('month'),
            Coalesce(sums.b2b, 0).as_('b2b'),
            Coalesce(sums.mall, 0).as_('mall'),
            Coalesce(sums.counter, 0).as_('counter'),
            platform.as_('platform'),
            Coalesce(sums.offplatform, 0).as_('offplatform'),
            total.as_('total'),
            cumulative.as_('cumulative'),
            (cls._amount(target_amount) * TEN_THOUSAND).as_('target'),
            Coalesce(members.members, 0).as_('members'),
            where=union.union_level != Null)

    @classmethod
    def table_query(cls):
        pool = Pool()
        party = pool.get('party.party').__table__()
        year, month = _year(), _month()
        rows = cls.months_query(year, month)
        totals = party.select(
            Sum(Coalesce(party.union_members, 0)).as_('members'),
            where=party.union_level != Null)
        all_members = totals.members
        province = Max(Case((rows.level == 'province', rows.cumulative),
                else_=0), window=Window([rows.month]))
        per_member = _ratio(rows.cumulative, rows.members)
        return rows.join(totals, 'CROSS').select(
            rows.id, rows.union, rows.level, rows.upper_union, rows.city,
            rows.county, rows.year, rows.month, rows.b2b, rows.mall,
            rows.counter, rows.platform, rows.offplatform, rows.total,
            rows.cumulative, rows.target,
            _ratio(rows.cumulative, rows.target, 100).as_('attainment'),
            rows.members,
            _ratio(cls._number(rows.members), all_members, 100
                ).as_('member_share'),
            _ratio(rows.cumulative, province, 100).as_('spending_share'),
            _ratio(province * rows.members, all_members).as_('fair_share'),
            per_member.as_('per_member'),
            Rank(window=Window([rows.level, rows.month],
                    order_by=[Coalesce(per_member, 0).desc])).as_('rank'))


class ProgressContext(ModelView):
    "Relief Spending Progress Context"
    __name__ = 'relief.report.progress.context'

    year = fields.Integer("Year", required=True)
    month = fields.Integer("Month",
        domain=['OR', ('month', '=', None),
            [('month', '>=', 1), ('month', '<=', 12)]],
        help="Empty for every month.")

    @classmethod
    def default_year(cls):
        return Pool().get('ir.date').today().year

    @classmethod
    def default_month(cls):
        return Pool().get('ir.date').today().month


class ProgressOpenBelow(Wizard):
    "Open the Progress of the Unions Below"
    __name__ = 'relief.report.progress.open_below'
    start_state = 'open_'
    open_ = StateAction('relief_report.act_progress')

    def do_open_(self, action):
        unions = sorted({r.union.id for r in self.records})
        action['pyson_domain'] = PYSONEncoder().encode([
                ('upper_union', 'in', unions)])
        context = Transaction().context
        action['pyson_context'] = PYSONEncoder().encode({
                'year': context.get('year'),
                'month': context.get('month'),
                })
        action['name'] += ' (%s)' % ', '.join(
            r.union.rec_name for r in self.records[:3])
        return action, {}


class ProgressYearContext(ModelView):
    "Relief Spending Progress by Month Context"
    __name__ = 'relief.report.progress.year_context'

    year = fields.Integer("Year", required=True)

    @classmethod
    def default_year(cls):
        return Pool().get('ir.date').today().year
