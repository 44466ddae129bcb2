# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Fund-rule compliance of each union for a year, rolled up the tree."""
import datetime as dt
from decimal import Decimal

from sql import Cast, Literal, Null, Union, Values, Window, With
from sql.aggregate import Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Round

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.relief.excel import Column, Layout, write_workbook
from trytond.pool import Pool
from trytond.pyson import PYSONEncoder
from trytond.report import Report
from trytond.transaction import Transaction
from trytond.wizard import StateAction, Wizard

from .ir import ExportRulesMixin
from .party import LEVELS
from .sale import SPENDING

TEN_THOUSAND = 10000
LAYOUT = Layout(
    sheet="消费帮扶合规",
    columns=[
        Column('union', "工会名称", width=30),
        Column('level', "级别"),
        Column('upper_union', "上级工会", width=24),
        Column('city', "市"),
        Column('county', "县（区）"),
        Column('gift_total', "节日慰问品总额（万元）", type='numeric'),
        Column('spending', "消费帮扶金额（元）", type='numeric'),
        Column('relief_share', "帮扶占比（%）", type='numeric'),
        Column('share_min', "最低占比（%）", type='numeric'),
        Column('gift_per_member', "人均慰问品（元）", type='numeric'),
        Column('gift_cap', "人均上限（元）", type='numeric'),
        Column('plan_attainment', "计划完成率（%）", type='numeric'),
        Column('quota_attainment', "额度完成率（%）", type='numeric'),
        Column('status', "状态"),
        Column('reasons', "原因", width=60),
        ])


def _year():
    "The year of the context, the current one by default"
    year = Transaction().context.get('year')
    if not year:
        year = Pool().get('ir.date').today().year
    return int(year)


class Compliance(ExportRulesMixin, ModelSQL, ModelView):
    "Union Fund-Rule Compliance"
    __name__ = 'relief.union.compliance'

    union = fields.Many2One('party.party', "Union")
    level = fields.Selection(LEVELS, "Level", sort=False)
    upper_union = fields.Many2One('party.party', "Upper Union")
    city = fields.Many2One('country.subdivision', "City")
    county = fields.Many2One('country.subdivision', "County")
    year = fields.Integer("Year")
    plan = fields.Many2One('relief.union.plan', "Plan")
    workers = fields.Numeric("Workers (10,000)", digits=(16, 4))
    gift_total = fields.Numeric(
        "Festival Gift Money (10,000 CNY)", digits=(16, 4))
    planned_relief = fields.Numeric(
        "Planned Relief Spending (10,000 CNY)", digits=(16, 4))
    quota = fields.Numeric(
        "Reserved Purchase Quota (10,000 CNY)", digits=(16, 4))
    spending_own = fields.Numeric(
        "Own Relief Spending (CNY)", digits=(16, 2),
        help="What the union and its members bought, without the unions "
        "below it.")
    spending = fields.Numeric(
        "Relief Spending (CNY)", digits=(16, 2),
        help="What the union, the unions below it and their members bought "
        "of poverty-relief products in the year (returns and cancelled "
        "goods excluded).")
    relief_share = fields.Numeric(
        "Relief Share (%)", digits=(16, 2),
        help="Relief spending over the festival gift money.")
    share_min = fields.Numeric("Minimum Share (%)", digits=(16, 2))
    gift_per_member = fields.Numeric(
        "Gift Money per Member (CNY)", digits=(16, 2))
    gift_cap = fields.Numeric("Gift Cap per Member (CNY)", digits=(16, 2))
    plan_attainment = fields.Numeric(
        "Plan Attainment (%)", digits=(16, 2))
    quota_attainment = fields.Numeric(
        "Quota Attainment (%)", digits=(16, 2))
    status = fields.Selection([
            ('compliant', "Compliant"),
            ('not_compliant', "Not Compliant"),
            ('missing', "Data Missing"),
            ], "Status", sort=False)
    level_string = level.translated('level')
    status_string = status.translated('status')
    reasons = fields.Function(fields.Text("Reasons"), 'get_reasons')
    unions = fields.Integer("Unions", help="1 per union, to count in graphs.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('city', 'ASC NULLS FIRST'),
            ('county', 'ASC NULLS FIRST'),
            ('level', 'ASC'),
            ('union', 'ASC'),
            ('id', 'ASC'),
            ]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Party = pool.get('party.party')
        Plan = pool.get('relief.union.plan')
        Subdivision = pool.get('country.subdivision')
        year = _year()
        tree = cls._tree_query(year)
        union = Party.__table__()
        plan = Plan.__table__()
        area = Subdivision.__table__()
        spending = tree.amount_total
        workers, gift_total, gift_standard, planned_relief, quota = (
            Plan._fields[f]._domain_column('=', getattr(plan, f))
            for f in ['workers', 'gift_total', 'gift_standard',
                'planned_relief', 'quota'])
        gift_money = gift_total * TEN_THOUSAND
        share = Case((gift_total > 0,
                Round(spending * 100 / gift_money, 2)))
        per_member = Case((workers > 0,
                Round(gift_total / workers, 2)))
        from_ = (union
            .join(tree, condition=tree.union == union.id)
            .join(plan, 'LEFT', condition=(plan.union == union.id)
                & (plan.year == year))
            .join(area, 'LEFT', condition=area.id == union.union_area))
        rules = cls._rule_table(year)
        if rules is not None:
            from_ = from_.join(rules, 'LEFT',
                condition=rules.column1 == union.union_area)
            share_min, gift_cap = rules.column2, rules.column3
        else:
            share_min = gift_cap = Cast(Null, 'NUMERIC')
        status = Case(
            ((plan.id == Null) | (plan.gift_total == Null)
                | (plan.workers == Null) | (workers <= 0)
                | (share_min == Null) | (gift_cap == Null),
                'missing'),
            ((share < share_min) | (per_member > gift_cap)
                | (Coalesce(gift_standard, 0) > gift_cap),
                'not_compliant'),
            else_='compliant')
        return from_.select(
            union.id.as_('id'),
            union.id.as_('union'),
            union.union_level.as_('level'),
            union.union_parent.as_('upper_union'),
            Case((area.relief_level == 'county', area.parent),
                (area.relief_level == 'city', area.id)).as_('city'),
            Case((area.relief_level == 'county', area.id)).as_('county'),
            Literal(year).as_('year'),
            plan.id.as_('plan'),
            plan.workers.as_('workers'),
            plan.gift_total.as_('gift_total'),
            plan.planned_relief.as_('planned_relief'),
            plan.quota.as_('quota'),
            tree.amount.as_('spending_own'),
            spending.as_('spending'),
            share.as_('relief_share'),
            share_min.as_('share_min'),
            per_member.as_('gift_per_member'),
            gift_cap.as_('gift_cap'),
            Case((planned_relief > 0, Round(spending * 100
                        / (planned_relief * TEN_THOUSAND), 2))
                ).as_('plan_attainment'),
            Case((quota > 0, Round(spending * 100
                        / (quota * TEN_THOUSAND), 2))
                ).as_('quota_attainment'),
            status.as_('status'),
            Literal(1).as_('unions'),
            where=union.union_level != Null)

    @classmethod
    def spending_query(cls, year):
        "Return the relief spending of each union's own sales in year"
        Spending = Pool().get('relief.union.spending')
        spending = Spending.__table__()
        amount = spending.amount
        if backend.name == 'sqlite':
            # A decimal is stored as text; as an integer, division truncates
            amount = Cast(amount, 'REAL')
        return spending.select(
            spending.union.as_('union'), amount.as_('amount'),
            where=spending.year == year)

    @classmethod
    def _tree_query(cls, year):
        """Return each union's own spending and its subtree's total.

        The nested set numbers the unions so that a subtree is the range
        [left, right]: a running sum ordered by position gives a subtree's
        total as the sum at its right minus the sum before its left.  A leaf
        (right = left + 1: no union can be below it) has its own spending as
        total: only the federations (about a hundred) need their right end
        in the running sum and their two ends paired up, so the sort is of
        one row per union and no regrouping of them all is needed."""
        Party = Pool().get('party.party')
        party = Party.__table__()
        federation = Party.__table__()
        own = cls.spending_query(year)
        leaf = party.union_right == party.union_left + 1
        lefts = party.join(own, 'LEFT', condition=own.union == party.id
            ).select(
            party.id.as_('union'),
            party.union_left.as_('position'),
            Coalesce(own.amount, 0).as_('amount'),
            Literal(0).as_('edge'),
            leaf.as_('leaf'),
            where=party.union_left != Null)
        rights = federation.select(
            federation.id.as_('union'),
            federation.union_right.as_('position'),
            Literal(0).as_('amount'),
            Literal(1).as_('edge'),
            Literal(False).as_('leaf'),
            where=(federation.union_left != Null)
            & (federation.union_right != federation.union_left + 1))
        edges = Union(lefts, rights, all_=True)
        running = With(query=edges.select(
                edges.union, edges.amount, edges.edge, edges.leaf,
                Sum(edges.amount, window=Window([],
                        order_by=[edges.position.asc])).as_('total')))
        leaves = running.select(
            running.union,
            running.amount.as_('amount'),
            running.amount.as_('amount_total'),
            where=running.leaf)
        federations = running.select(
            running.union,
            Sum(Case((running.edge == 0, running.amount), else_=0)
                ).as_('amount'),
            (Sum(Case((running.edge == 1, running.total), else_=0))
                - Sum(Case((running.edge == 0,
                            running.total - running.amount), else_=0))
                ).as_('amount_total'),
            where=~running.leaf,
            group_by=[running.union])
        return Union(leaves, federations, all_=True, with_=[running])

    @classmethod
    def _rule_table(cls, year):
        """Return the rules in force for each union's area as a table
        (area, share_min, gift_cap) to join, or None without rules"""
        pool = Pool()
        Party = pool.get('party.party')
        Rule = pool.get('relief.rule')
        Subdivision = pool.get('country.subdivision')
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*party.select(party.union_area,
                where=(party.union_area != Null), group_by=[party.union_area]))
        areas = Subdivision.browse([a for a, in cursor])
        date = cls._rule_date(year)
        share_min = Rule.get_values('relief_share_min', areas, date)
        gift_cap = Rule.get_values('festival_gift_cap', areas, date)
        # Cast: SQLite binds decimals as text, which compares above numbers
        rows = [[a.id,
                Cast(Literal(share_min.get(a.id)), 'NUMERIC'),
                Cast(Literal(gift_cap.get(a.id)), 'NUMERIC')]
            for a in areas]
        if rows:
            return Values(rows)

    @classmethod
    def _rule_date(cls, year):
        "The rules of a year are those in force at its end, or today"
        today = Pool().get('ir.date').today()
        return min(today, dt.date(year, 12, 31))

    def get_reasons(self, name):
        "Explain the status in the user's language"
        lang = Pool().get('ir.lang').get()

        def number(value):
            # As the client shows them, whatever type the backend returns
            return lang.format_number(value, 2) if value is not None else '-'
        reasons = []
        if not self.plan:
            return gettext('relief_union.msg_compliance_no_plan',
                year=self.year)
        if self.gift_total is None or not self.workers:
            reasons.append(gettext(
                    'relief_union.msg_compliance_plan_incomplete',
                    plan=self.plan.rec_name))
        if self.share_min is None or self.gift_cap is None:
            reasons.append(gettext(
                    'relief_union.msg_compliance_no_rule',
                    area=self.union.union_area.rec_name
                    if self.union.union_area else ''))
        if reasons:
            return '\n'.join(reasons)
        if (self.relief_share is not None
                and self.relief_share < self.share_min):
            reasons.append(gettext(
                    'relief_union.msg_compliance_share_low',
                    share=number(self.relief_share),
                    minimum=number(self.share_min),
                    spending=number(self.spending or Decimal(0)),
                    gift_money=number(self.gift_total * TEN_THOUSAND)))
        if (self.gift_per_member is not None
                and self.gift_per_member > self.gift_cap):
            reasons.append(gettext(
                    'relief_union.msg_compliance_gift_high',
                    amount=number(self.gift_per_member),
                    cap=number(self.gift_cap)))
        standard = self.plan.gift_standard
        if standard is not None and standard > self.gift_cap:
            reasons.append(gettext(
                    'relief_union.msg_compliance_standard_high',
                    amount=number(standard), cap=number(self.gift_cap)))
        if not reasons:
            return gettext('relief_union.msg_compliance_ok',
                share=number(self.relief_share),
                minimum=number(self.share_min),
                amount=number(self.gift_per_member),
                cap=number(self.gift_cap))
        return '\n'.join(reasons)


class ComplianceContext(ModelView):
    "Union Fund-Rule Compliance Context"
    __name__ = 'relief.union.compliance.context'

    year = fields.Integer("Year", required=True)

    @classmethod
    def default_year(cls):
        return Pool().get('ir.date').today().year


class ComplianceOpenSales(Wizard):
    "Open the Sales of a Union"
    __name__ = 'relief.union.compliance.open_sales'
    start_state = 'open_'
    open_ = StateAction('sale.act_sale_form')

    def do_open_(self, action):
        year = _year()
        unions = [r.union.id for r in self.records]
        action['pyson_domain'] = PYSONEncoder().encode([
            ('relief_union', 'child_of', unions, 'union_parent'),
            ('state', 'in', SPENDING),
            ('sale_date', '>=', dt.date(year, 1, 1)),
            ('sale_date', '<=', dt.date(year, 12, 31)),
            ])
        action['name'] += ' (%s %s)' % (
            ', '.join(r.union.rec_name for r in self.records[:3]), year)
        return action, {}


class ComplianceReport(Report):
    "Union Fund-Rule Compliance (Excel)"
    __name__ = 'relief.union.compliance.xlsx'

    @classmethod
    def _execute(cls, records, header, data, action):
        rows = [cls._row(r) for r in records]
        year = records[0].year if records else _year()
        layout = Layout(
            LAYOUT.columns, sheet=LAYOUT.sheet,
            title="%s 年度工会消费帮扶合规情况" % year)
        return 'xlsx', write_workbook(layout, rows)

    @staticmethod
    def _row(record):
        def name(value):
            return value.rec_name if value else None
        return {
            'union': name(record.union),
            'level': record.level_string,
            'upper_union': name(record.upper_union),
            'city': name(record.city),
            'county': name(record.county),
            'gift_total': record.gift_total,
            'spending': record.spending,
            'relief_share': record.relief_share,
            'share_min': record.share_min,
            'gift_per_member': record.gift_per_member,
            'gift_cap': record.gift_cap,
            'plan_attainment': record.plan_attainment,
            'quota_attainment': record.quota_attainment,
            'status': record.status_string,
            'reasons': record.reasons,
            }
