# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""附件1 filled with what was done: the planned figures of the unions'
statistics form with their actual relief spending and its completion."""
from decimal import ROUND_HALF_UP, Decimal

from trytond.i18n import gettext
from trytond.modules.relief.excel import Column
from trytond.modules.relief_union.form import PlanExport, _layout
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .exceptions import FormAccessError
from .progress import TEN_THOUSAND

# The columns added after 计划消费扶贫金额 of 附件1
ACTUAL = [
    Column('actual_relief', "实际消费扶贫金额（万元）", type='numeric'),
    Column('completion', "完成率（%）", type='numeric'),
    ]
# The figures of the unions below that add up in the total row
TOTALS = [
    'grassroots_unions', 'workers', 'gift_total', 'planned_relief',
    'actual_relief']
TOTAL = "下级工会合计"


class Plan(metaclass=PoolMeta):
    __name__ = 'relief.union.plan'

    @classmethod
    def check_form_access(cls, union):
        """Refuse the form of a union outside the subtree of a union
        accountant"""
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Party = pool.get('party.party')
        User = pool.get('res.user')
        group = ModelData.get_id('relief', 'group_relief_union_accountant')
        if group not in User.get_groups():
            return
        unions = User.get_relief_unions()
        if not Party.search([
                    ('id', '=', union.id),
                    ['OR',
                        ('id', 'in', unions),
                        ('union_parent', 'child_of', unions, 'union_parent'),
                        ],
                    ]):
            raise FormAccessError(gettext(
                    'relief_report.msg_form_access', union=union.rec_name))

    @classmethod
    def form_actual_rows(cls, union, year):
        """Return the rows of 附件1 of union for year with each union's
        actual spending (its subtree's, as its plan's) and completion, and
        the total row of the unions below"""
        Progress = Pool().get('relief.report.progress')
        unions = cls.form_unions(union)
        rows = cls.form_rows(union, year)
        with Transaction().set_context(year=year, month=12):
            spent = {p.union: p.cumulative for p in Progress.search([
                        ('union', 'in', [u.id for u in unions]),
                        ])}
        for union_, row in zip(unions, rows):
            row['actual_relief'] = (spent.get(union_) or Decimal(0)
                ) / TEN_THOUSAND
        total = {'sequence': '', 'union': TOTAL}
        for name in TOTALS:
            values = [r[name] for r in rows[1:] if r.get(name) is not None]
            total[name] = sum(values) if values else None
        for row in rows + [total]:
            row['completion'] = cls._form_completion(row)
            if row['actual_relief'] is not None:
                row['actual_relief'] = row['actual_relief'].quantize(
                    Decimal('0.0001'), rounding=ROUND_HALF_UP)
        return rows + [total]

    @staticmethod
    def _form_completion(row):
        "Return the actual spending of a row over its planned in %"
        planned, actual = row.get('planned_relief'), row['actual_relief']
        if planned and actual is not None:
            return (actual * 100 / planned).quantize(
                Decimal('0.01'), rounding=ROUND_HALF_UP)


class FormExport(PlanExport):
    "Export the Union Statistics with Actual Figures (附件1)"
    __name__ = 'relief.report.form.export'

    def transition_export(self):
        Pool().get('relief.union.plan').check_form_access(self.start.union)
        return super().transition_export()

    def form_layout(self, year):
        layout = _layout(year)
        names = [c.name for c in layout.columns]
        index = names.index('planned_relief') + 1
        layout.columns[index:index] = ACTUAL
        return layout

    def form_rows(self, union, year):
        return Pool().get('relief.union.plan').form_actual_rows(union, year)

    def default_result(self, fields):
        result = super().default_result(fields)
        result['filename'] = '-'.join([
                result['filename'].removesuffix('.xlsx'),
                gettext('relief_report.msg_form_actual')]) + '.xlsx'
        return result
