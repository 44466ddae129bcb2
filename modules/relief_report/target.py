# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Spending targets: the province's per year, each union's from its plan
(附件1 计划消费扶贫金额)."""
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import PYSONEncoder
from trytond.wizard import Button, StateAction, StateView, Wizard

from .exceptions import TargetError


class Target(ModelSQL, ModelView):
    "Relief Spending Target"
    __name__ = 'relief.report.target'

    year = fields.Integer("Year", required=True)
    union = fields.Many2One(
        'party.party', "Union", ondelete='CASCADE',
        domain=[('union_level', '!=', None)],
        help="Empty for the province's target.")
    amount = fields.Numeric(
        "Target (10,000 CNY)", digits=(16, 4), required=True,
        domain=[('amount', '>=', 0)])
    plan = fields.Many2One(
        'relief.union.plan', "Plan", readonly=True, ondelete='SET NULL',
        help="The plan the target was taken from (计划消费扶贫金额); "
        "empty for a target set by hand.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('year', 'DESC'), ('union', 'ASC NULLS FIRST'), ('id', 'ASC')]

    @classmethod
    def default_year(cls):
        return Pool().get('ir.date').today().year

    def get_rec_name(self, name):
        union = (self.union.rec_name if self.union
            else gettext('relief_report.msg_target_province'))
        return '%s %s' % (union, self.year)

    @classmethod
    def validate_fields(cls, targets, field_names):
        super().validate_fields(targets, field_names)
        cls.check_unique(targets, field_names)

    @classmethod
    def check_unique(cls, targets, field_names=None):
        "One target per union (or the province) and year"
        if field_names and not (field_names & {'year', 'union'}):
            return
        for target in targets:
            others = cls.search([
                    ('year', '=', target.year),
                    ('union', '=', target.union.id if target.union else None),
                    ('id', '!=', target.id),
                    ], limit=1)
            if others:
                raise TargetError(gettext(
                        'relief_report.msg_target_unique',
                        target=target.rec_name))


class TargetsFromPlansStart(ModelView):
    "Targets from Plans"
    __name__ = 'relief.report.target.from_plans.start'

    year = fields.Integer("Year", required=True)

    @classmethod
    def default_year(cls):
        return Pool().get('ir.date').today().year


class TargetsFromPlans(Wizard):
    """Targets from Plans

    Each confirmed plan of the year with a planned relief spending gives
    its union's target; a target set by hand is kept."""
    __name__ = 'relief.report.target.from_plans'
    start = StateView('relief.report.target.from_plans.start',
        'relief_report.target_from_plans_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Create", 'create_', 'tryton-ok', default=True),
            ])
    create_ = StateAction('relief_report.act_target_form')

    def do_create_(self, action):
        pool = Pool()
        Plan = pool.get('relief.union.plan')
        Target = pool.get('relief.report.target')
        year = self.start.year
        plans = Plan.search([
                ('year', '=', year),
                ('state', '=', 'confirmed'),
                ('planned_relief', '!=', None),
                ])
        existing = {t.union: t for t in Target.search([
                    ('year', '=', year), ('union', '!=', None)])}
        targets = []
        for plan in plans:
            target = existing.get(plan.union)
            if target and not target.plan:
                continue
            if not target:
                target = Target(year=year, union=plan.union)
            target.amount = plan.planned_relief
            target.plan = plan
            targets.append(target)
        Target.save(targets)
        action['pyson_domain'] = PYSONEncoder().encode(
            [('year', '=', year)])
        return action, {}
