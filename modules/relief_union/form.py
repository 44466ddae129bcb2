# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""附件1: the unions' consumption poverty-relief statistics (陕工发〔2020〕1号)"""
import re

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.relief.excel import (
    Column, Layout, notify, queue_rows, quote, raise_errors, read_workbook,
    suggest, update_record, write_workbook)
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

TITLE = "%s 年度全省工会消费扶贫情况统计表"
UNIT, PREPARER, PHONE = "填报单位（盖章）：", "填报人：", "联系电话："
UNION = "工会名称"
# Not compared to suggest a union for a typo
UNION_SUFFIXES = ('工会委员会', '总工会', '工会')
# The year of the title: "2020 年度…"
TITLE_YEAR = re.compile(r'(\d{4})\s*年度')
# The figures of 附件1, in the units of relief.union.plan; all required in
# a row that creates or changes a plan
FIGURES = [
    Column('grassroots_unions', "基层工会数量", type='integer', minimum=0),
    Column('workers', "职工数（万）", type='numeric', minimum=0),
    Column('gift_standard', "年度个人发放节日慰问品标准（元）",
        type='numeric', minimum=0),
    Column('gift_total', "年度工会发放慰问品总额（万元）",
        type='numeric', minimum=0),
    Column('planned_relief', "计划消费扶贫金额（万元）",
        type='numeric', minimum=0),
    ]
LAYOUT = Layout(
    title=TITLE,
    columns=[
        Column('sequence', "序号", type='integer', minimum=1),
        Column('union', UNION, required=True, key=True, size=100),
        *FIGURES,
        Column('comment', "备注", size=500),
        ],
    header_lines=[UNIT],
    footer_lines=[PREPARER, PHONE])


def _layout(year):
    "Return the layout of 附件1 titled for year"
    return Layout(
        LAYOUT.columns, title=TITLE % year,
        header_lines=LAYOUT.header_lines, footer_lines=LAYOUT.footer_lines)


class Plan(metaclass=PoolMeta):
    __name__ = 'relief.union.plan'

    @classmethod
    def form_unions(cls, union):
        "Return the unions of the 附件1 of union: itself and those right below"
        Party = Pool().get('party.party')
        return [union] + Party.search([
                ('union_parent', '=', union.id),
                ('union_level', '!=', None),
                ], order=[('id', 'ASC')])

    @classmethod
    def form_rows(cls, union, year):
        "Return the rows of 附件1 of union for year, blank without a plan"
        unions = cls.form_unions(union)
        plans = {p.union: p for p in cls.search([
                    ('union', 'in', [u.id for u in unions]),
                    ('year', '=', year),
                    ])}
        rows = []
        for union_ in unions:
            plan = plans.get(union_)
            row = {'union': union_.name}
            if plan:
                row.update((c.name, getattr(plan, c.name)) for c in FIGURES)
                row['comment'] = plan.comment
            rows.append(row)
        return rows

    @classmethod
    def read_form(cls, data, union, year, filename=None):
        """Return the rows of a filled 附件1 of union for year that create
        or change a plan, with their union, or raise reporting every error
        at once"""
        errors, lines = [], []
        rows = read_workbook(
            data, LAYOUT, filename=filename, errors=errors, lines=lines)
        errors.extend(cls._form_year_errors(lines, year))
        unions = {}
        for union_ in reversed(cls.form_unions(union)):
            unions[union_.name] = union_
        plans = {p.union: p for p in cls.search([
                    ('union', 'in', [u.id for u in unions.values()]),
                    ('year', '=', year),
                    ])}
        result = []
        for row in rows:
            row_errors = cls._form_row_errors(row, union, unions, plans)
            errors.extend(row_errors)
            if (not row_errors and not row.get('_error')
                    and cls._form_row_changes(row, plans.get(
                            unions.get(row.get('union'))))):
                result.append(row)
        errors.sort(key=lambda e: e[1].get('row', 0))
        raise_errors(errors, filename)
        for row in result:
            row['union'] = unions[row['union']]
        return result

    @staticmethod
    def _form_values(row):
        "Return the values of a plan in a row of 附件1"
        values = {c.name: row.get(c.name) for c in FIGURES}
        values['comment'] = row.get('comment')
        return values

    @classmethod
    def _form_row_changes(cls, row, plan):
        """Return whether the row creates or changes a plan: a blank row
        (as exported for a union without a plan) or the values of the plan
        change nothing"""
        values = cls._form_values(row)
        if not plan:
            return any(v is not None for v in values.values())
        return any(getattr(plan, k) != v for k, v in values.items())

    @classmethod
    def _form_year_errors(cls, lines, year):
        "Return the error of a title of another year than year"
        for line in lines:
            match = TITLE_YEAR.search(line)
            if match and int(match.group(1)) != year:
                return [('relief_union.msg_union_form_year', {
                            'title': quote(line), 'year': year,
                            })]
            elif match:
                break
        return []

    @classmethod
    def _form_row_errors(cls, row, union, unions, plans):
        "Return the errors of a row of 附件1 beyond its cells"
        name = row.get('union')
        if name is None:
            return []
        if name not in unions:
            return [('relief_union.msg_union_form_union_unknown', {
                        'row': row['_row'], 'column': UNION,
                        'value': quote(name), 'union': union.name,
                        'hint': suggest(name, unions, UNION_SUFFIXES),
                        })]
        plan = plans.get(unions[name])
        if not cls._form_row_changes(row, plan):
            # Left alone, whatever the plan's state
            return []
        errors = []
        if plan and plan.state != 'draft':
            errors.append(('relief_union.msg_union_form_plan_confirmed', {
                        'row': row['_row'], 'plan': plan.rec_name}))
        for column in FIGURES:
            value = row.get(column.name)
            digits = getattr(cls._fields[column.name], 'digits', None)
            if column.name in row and value is None:
                # Not refused by its cell
                errors.append(('relief_union.msg_union_form_required', {
                            'row': row['_row'], 'column': column.string}))
            elif (value is not None and digits
                    and value.normalize().as_tuple().exponent < -digits[1]):
                # The file has more decimals than the plan keeps
                errors.append(('relief_union.msg_union_form_digits', {
                            'row': row['_row'], 'column': column.string,
                            'value': value, 'digits': digits[1]}))
        return errors

    @classmethod
    def import_form(cls, rows, year):
        """Create or update the draft plans for year of the rows of 附件1
        and return those created and updated"""
        existing = {p.union: p for p in cls.search([
                    ('union', 'in', [r['union'].id for r in rows]),
                    ('year', '=', year),
                    ])}
        created, updated = [], []
        for row in rows:
            values = cls._form_values(row)
            plan = existing.get(row['union'])
            if not plan:
                created.append(cls(union=row['union'], year=year, **values))
            elif plan.state == 'draft' and update_record(plan, **values):
                updated.append(plan)
        cls.save(created + updated)
        return created, updated


class FormWizardMixin:
    "A wizard of 附件1 started on a union, by default the union of the user"

    def default_start(self, fields):
        pool = Pool()
        Party = pool.get('party.party')
        User = pool.get('res.user')
        defaults = {}
        if (self.model and self.model.__name__ == 'party.party'
                and self.record and self.record.union_level):
            defaults['union'] = self.record.id
        else:
            unions = User.get_relief_unions()
            if unions and Party(unions[0]).union_level:
                defaults['union'] = unions[0]
        return defaults


class PlanExport(FormWizardMixin, Wizard):
    "Export the Union Statistics (附件1)"
    __name__ = 'relief.union.plan.export'

    start = StateView(
        'relief.union.plan.export.start',
        'relief_union.plan_export_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Export", 'export', 'tryton-ok', default=True),
            ])
    export = StateTransition()
    result = StateView(
        'relief.union.plan.export.result',
        'relief_union.plan_export_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_export(self):
        Party = Pool().get('party.party')
        union = self.start.union
        # A union accountant exports only the unions they may read
        with check_access():
            Party.read([union.id], ['id'])
            rows = self.form_rows(union, self.start.year)
        self.result.file = write_workbook(
            self.form_layout(self.start.year), rows,
            header_lines=[UNIT + union.name],
            footer_lines=[
                PREPARER + (self.start.preparer or ''),
                PHONE + (self.start.phone or '')])
        return 'result'

    def form_layout(self, year):
        "Return the layout of the form of year"
        return _layout(year)

    def form_rows(self, union, year):
        "Return the rows of the form of union for year"
        return Pool().get('relief.union.plan').form_rows(union, year)

    def default_result(self, fields):
        file = self.result.file
        self.result.file = None  # No need to store it in the session
        name = '-'.join([TITLE % self.start.year, self.start.union.name])
        return {
            'file': file,
            'filename': name + '.xlsx',
            }


class PlanExportStart(ModelView):
    "Export the Union Statistics (附件1)"
    __name__ = 'relief.union.plan.export.start'

    union = fields.Many2One(
        'party.party', "Union", required=True,
        domain=[('union_level', '!=', None)],
        help="填报单位: the union whose form it is, with the unions right "
        "below it.")
    year = fields.Integer("Year", required=True)
    preparer = fields.Char("Prepared By", help="填报人")
    phone = fields.Char("Phone")

    @classmethod
    def default_year(cls):
        return Pool().get('ir.date').today().year


class PlanExportResult(ModelView):
    "Export the Union Statistics (附件1)"
    __name__ = 'relief.union.plan.export.result'

    file = fields.Binary("File", readonly=True, filename='filename')
    filename = fields.Char("File Name", readonly=True)


class PlanImport(FormWizardMixin, Wizard):
    "Import the Union Statistics (附件1)"
    __name__ = 'relief.union.plan.import'

    start = StateView(
        'relief.union.plan.import.start',
        'relief_union.plan_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()
    result = StateView(
        'relief.union.plan.import.result',
        'relief_union.plan_import_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_import_(self):
        pool = Pool()
        Plan = pool.get('relief.union.plan')
        User = pool.get('res.user')
        # Checked at once: the user sees the errors of any file now
        rows = Plan.read_form(
            self.start.file, self.start.union, self.start.year,
            filename=self.start.filename)
        if len(rows) > queue_rows():
            # The worker imports it again and notifies the user
            User.__queue__.relief_import_union_form(
                [Transaction().user], bytes(self.start.file),
                self.start.union.id, self.start.year, self.start.filename)
            self.result.queued = len(rows)
            self.result.created = self.result.updated = []
        else:
            self.result.queued = 0
            self.result.created, self.result.updated = Plan.import_form(
                rows, self.start.year)
        return 'result'

    def default_result(self, fields):
        return {
            'queued': self.result.queued,
            'created': [p.id for p in self.result.created],
            'updated': [p.id for p in self.result.updated],
            }


class PlanImportStart(ModelView):
    "Import the Union Statistics (附件1)"
    __name__ = 'relief.union.plan.import.start'

    union = fields.Many2One(
        'party.party', "Filling Union", required=True,
        domain=[('union_level', '!=', None)],
        help="填报单位: the union that filled the form; its rows are this "
        "union and the unions right below it.")
    year = fields.Integer("Year", required=True)
    file = fields.Binary("File", required=True, filename='filename')
    filename = fields.Char("File Name")

    @classmethod
    def default_year(cls):
        return Pool().get('ir.date').today().year


class PlanImportResult(ModelView):
    "Import the Union Statistics (附件1)"
    __name__ = 'relief.union.plan.import.result'

    queued = fields.Integer(
        "Rows Imported in the Background", readonly=True,
        help="A large form is imported in the background; a notification "
        "tells when it is done or why it failed.")
    created = fields.Many2Many(
        'relief.union.plan', None, None, "Plans Created", readonly=True)
    updated = fields.Many2Many(
        'relief.union.plan', None, None, "Plans Updated", readonly=True)


class User(metaclass=PoolMeta):
    __name__ = 'res.user'

    @classmethod
    def relief_import_union_form(cls, users, data, union, year, filename):
        """Import a 附件1 in the queue and notify the user who asked of its
        end or failure"""
        pool = Pool()
        Party = pool.get('party.party')
        Plan = pool.get('relief.union.plan')
        user, = users
        try:
            rows = Plan.read_form(data, Party(union), year, filename=filename)
            created, updated = Plan.import_form(rows, year)
        except UserError as error:
            # Nothing of the import is kept, only the notification
            Transaction().rollback()
            notify(user, gettext(
                    'relief_union.msg_union_form_import_failed',
                    filename=quote(filename)), error.message, 'tryton-error')
        else:
            notify(user, gettext(
                    'relief_union.msg_union_form_import_done',
                    filename=quote(filename), created=len(created),
                    updated=len(updated)),
                None, 'tryton-ok', records=created + updated)

