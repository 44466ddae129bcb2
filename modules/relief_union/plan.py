# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from decimal import Decimal

from sql import Null
from sql.aggregate import Sum
from sql.conditionals import Coalesce

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.model.fields import SQL_OPERATORS
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import PlanError, QuotaError
from .ir import ExportRulesMixin
from .party import slices

# The figures of 附件1 and the quota, with the unit they are kept in
FIGURES = [
    'grassroots_unions', 'workers', 'gift_standard', 'gift_total',
    'planned_relief', 'quota']


class Plan(ExportRulesMixin, Workflow, ModelSQL, ModelView):
    "Union Annual Plan"
    __name__ = 'relief.union.plan'
    _states = {'readonly': Eval('state') != 'draft'}

    union = fields.Many2One(
        'party.party', "Union", required=True, ondelete='CASCADE',
        domain=[('union_level', '!=', None)], states=_states)
    year = fields.Integer("Year", required=True, states=_states)
    grassroots_unions = fields.Integer(
        "Grassroots Unions", states=_states, help="基层工会数量")
    workers = fields.Numeric(
        "Workers (10,000)", digits=(16, 4), states=_states,
        help="职工数（万）")
    gift_standard = fields.Numeric(
        "Festival Gifts per Person (CNY)", digits=(16, 2), states=_states,
        help="年度个人发放节日慰问品标准（元）")
    gift_total = fields.Numeric(
        "Festival Gift Money (10,000 CNY)", digits=(16, 4), states=_states,
        help="年度工会发放慰问品总额（万元）")
    planned_relief = fields.Numeric(
        "Planned Relief Spending (10,000 CNY)", digits=(16, 4),
        states=_states, help="计划消费扶贫金额（万元）")
    quota = fields.Numeric(
        "Reserved Purchase Quota (10,000 CNY)", digits=(16, 4),
        states=_states,
        help="预留采购额度: what the upper union allocated to this union; "
        "this union may allocate it on to the unions below it.")
    allocated = fields.Function(fields.Numeric(
            "Allocated Below (10,000 CNY)", digits=(16, 4)),
        'get_allocated')
    comment = fields.Text("Comment", help="备注")
    state = fields.Selection([
            ('draft', "Draft"),
            ('confirmed', "Confirmed"),
            ], "State", readonly=True, required=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('union_year_unique', Unique(t, t.union, t.year),
                'relief_union.msg_plan_union_year_unique'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.year, Index.Range()), (t.union, Index.Equality())))
        cls._order = [('year', 'DESC'), ('union', 'ASC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'confirmed'),
            ('confirmed', 'draft'),
            }
        cls._buttons.update({
                'confirm': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'confirmed',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_year(cls):
        return Pool().get('ir.date').today().year

    @classmethod
    def default_state(cls):
        return 'draft'

    def get_rec_name(self, name):
        return '%s %s' % (self.union.rec_name, self.year)

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('union.rec_name',) + tuple(clause[1:])]

    @classmethod
    def get_allocated(cls, plans, name):
        "The quota of the plans of the unions right below, in one query"
        pool = Pool()
        Party = pool.get('party.party')
        plan = cls.__table__()
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        result = dict.fromkeys(map(int, plans), Decimal(0))
        keys = {(p.union.id, p.year): p.id for p in plans}
        for sub_ids in slices({p.union.id for p in plans}):
            cursor.execute(*plan.join(
                    party, condition=plan.union == party.id
                    ).select(party.union_parent, plan.year,
                    Sum(Coalesce(plan.quota, 0)),
                    where=SQL_OPERATORS['in'](party.union_parent, sub_ids),
                    group_by=[party.union_parent, plan.year]))
            for union, year, amount in cursor:
                if (union, year) in keys:
                    result[keys[(union, year)]] = Decimal(str(amount))
        return result

    @classmethod
    def validate_fields(cls, plans, field_names):
        super().validate_fields(plans, field_names)
        cls.check_figures(plans, field_names)
        cls.check_quota(plans, field_names)

    @classmethod
    def check_figures(cls, plans, field_names=None):
        "Refuse negative figures (in Python: SQLite compares text)"
        names = [f for f in FIGURES if not field_names or f in field_names]
        for plan in plans:
            for name in names:
                value = getattr(plan, name)
                if value is not None and value < 0:
                    raise PlanError(gettext(
                            'relief_union.msg_plan_figure_negative',
                            plan=plan.rec_name,
                            field=cls.__names__(name)['field'],
                            value=value))
            if plan.year is not None and not 2000 <= plan.year <= 2100:
                raise PlanError(gettext(
                        'relief_union.msg_plan_year', plan=plan.rec_name,
                        year=plan.year))

    @classmethod
    def check_quota(cls, plans, field_names=None):
        """Refuse allocating more quota than the upper union holds.

        Two allocations of one upper union are serialized on its row."""
        if field_names and not (field_names & {'quota', 'union', 'year'}):
            return
        keys = set()
        for plan in plans:
            if plan.union.union_parent:
                keys.add((plan.union.union_parent.id, plan.year))
            keys.add((plan.union.id, plan.year))
        cls.check_quota_held(keys)

    @classmethod
    def check_quota_held(cls, keys):
        "Refuse when a (union, year) of keys allocated more than it holds"
        if not keys:
            return
        cls._serialize_quota({u for u, _ in keys})
        held, allocated = cls._quota_figures(keys)
        for key in sorted(keys):
            union, year = key
            amount = Decimal(str(allocated.get(key) or 0))
            quota = Decimal(str(held.get(key) or 0))
            if amount > quota:
                pool = Pool()
                Lang = pool.get('ir.lang')
                Party = pool.get('party.party')
                # As the client shows them, whatever type the backend sums to
                lang, digits = Lang.get(), cls.quota.digits[1]
                raise QuotaError(gettext(
                        'relief_union.msg_plan_quota_over',
                        union=Party(union).rec_name, year=year,
                        allocated=lang.format_number(amount, digits),
                        held=lang.format_number(quota, digits)))

    @classmethod
    def _serialize_quota(cls, union_ids):
        # Touching the upper unions' rows makes a concurrent allocation under
        # the same union wait, then fail to serialize and be run again
        # (trytond retries), this time seeing the first allocation.
        if backend.name != 'postgresql':
            return
        Party = Pool().get('party.party')
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        for sub_ids in slices(sorted(union_ids)):
            cursor.execute(*party.update(
                    [party.write_date], [party.write_date],
                    where=SQL_OPERATORS['in'](party.id, sub_ids)))

    @classmethod
    def _quota_figures(cls, keys):
        "Return the quota held and allocated below for each (union, year)"
        Party = Pool().get('party.party')
        plan = cls.__table__()
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        unions = sorted({u for u, _ in keys})
        years = sorted({y for _, y in keys})
        held, allocated = {}, {}
        for sub_ids in slices(unions):
            # A list: both queries use it, a slice is consumed by the first
            sub_ids = list(sub_ids)
            cursor.execute(*plan.select(plan.union, plan.year, plan.quota,
                    where=SQL_OPERATORS['in'](plan.union, sub_ids)
                    & plan.year.in_(years)))
            for union, year, quota in cursor:
                held[(union, year)] = quota or 0
            cursor.execute(*plan.join(
                    party, condition=plan.union == party.id
                    ).select(party.union_parent, plan.year,
                    Sum(Coalesce(plan.quota, 0)),
                    where=SQL_OPERATORS['in'](party.union_parent, sub_ids)
                    & plan.year.in_(years)
                    & (plan.quota != Null),
                    group_by=[party.union_parent, plan.year]))
            for union, year, amount in cursor:
                allocated[(union, year)] = amount
        return held, allocated

    @classmethod
    def check_modification(cls, mode, plans, values=None, external=False):
        super().check_modification(
            mode, plans, values=values, external=external)
        if external:
            cls.check_state_modification(mode, plans, values)
        # The workflow writes only the state
        if mode == 'delete' or (
                mode == 'write' and values.keys() - {'state'}):
            for plan in plans:
                if plan.state == 'confirmed':
                    raise AccessError(gettext(
                            'relief_union.msg_plan_confirmed_modify',
                            plan=plan.rec_name))

    @classmethod
    def check_state_modification(cls, mode, plans, values=None):
        """Refuse a user's write of the state and a plan created confirmed:
        only the buttons change it (they run without access checks)"""
        if mode == 'write' and plans and 'state' in values:
            raise AccessError(gettext(
                    'relief_union.msg_plan_state_modify',
                    plan=plans[0].rec_name))
        elif mode == 'create':
            for plan in plans:
                if plan.state != 'draft':
                    raise AccessError(gettext(
                            'relief_union.msg_plan_create_draft',
                            plan=plan.rec_name))

    @classmethod
    def delete(cls, plans):
        # The quota a deleted plan held may be allocated below
        keys = {(p.union.id, p.year) for p in plans}
        super().delete(plans)
        cls.check_quota_held(keys)

    @classmethod
    @ModelView.button
    @Workflow.transition('confirmed')
    def confirm(cls, plans):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, plans):
        pass

    @classmethod
    def copy(cls, plans, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('year', lambda data: data['year'] + 1)
        return super().copy(plans, default=default)
