# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from decimal import Decimal

from sql import Literal
from sql.aggregate import Count, Sum
from sql.conditionals import Coalesce
from sql.functions import CurrentTimestamp
from sql.operators import Equal, Exists

from trytond import backend
from trytond.i18n import gettext
from trytond.model import (
    Exclude, Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.modules.currency.fields import Monetary
from trytond.modules.relief.excel import Column, Layout, write_workbook
from trytond.modules.relief.totals import lock_rows
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.report import Report
from trytond.sql.functions import DateRange
from trytond.sql.operators import RangeOverlap
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .exceptions import ClaimError, SubsidyAccessError

# Claims whose period no other claim of the programme may overlap
HOLDING = ['sent', 'paid']
# What only the buttons and the payment of the invoice change
WORKFLOW_FIELDS = ['state', 'invoice', 'lines']


class Claim(Workflow, ModelSQL, ModelView):
    "Subsidy Claim"
    __name__ = 'relief.subsidy.claim'
    __string__ = "Subsidy Claim"
    _states = {'readonly': Eval('state') != 'draft'}

    program = fields.Many2One(
        'relief.subsidy.program', "Programme", required=True,
        states=_states, domain=[('state', 'in', ['running', 'closed'])])
    company = fields.Function(fields.Many2One(
            'company.company', "Company"), 'on_change_with_company',
        searcher='search_company')
    payer = fields.Function(fields.Many2One(
            'party.party', "Payer",
            context={'company': Eval('company', -1)}, depends=['company']),
        'on_change_with_payer',
        searcher='search_payer')
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')
    start_date = fields.Date("Start Date", required=True, states=_states,
        domain=[If(Eval('end_date'),
                ('start_date', '<=', Eval('end_date')), ())])
    end_date = fields.Date("End Date", required=True, states=_states,
        domain=[If(Eval('start_date'),
                ('end_date', '>=', Eval('start_date')), ())],
        help="The claim takes the programme's unclaimed subsidies of sales "
        "up to this date, earlier credits included.")
    lines = fields.One2Many(
        'relief.subsidy.claim.line', 'claim', "Lines", readonly=True)
    amount = fields.Function(Monetary(
            "Amount", digits='currency', currency='currency'),
        'get_amount')
    invoice = fields.Many2One(
        'account.invoice', "Invoice", readonly=True, ondelete='RESTRICT',
        states={'invisible': ~Eval('invoice')})
    state = fields.Selection([
            ('draft', "Draft"),
            ('sent', "Sent"),
            ('paid', "Paid"),
            ], "State", readonly=True, required=True, sort=False)
    state_string = state.translated('state')

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('period_overlap', Exclude(t,
                    (t.program, Equal),
                    (DateRange(t.start_date, t.end_date, '[]'),
                        RangeOverlap),
                    where=t.state.in_(HOLDING)),
                'relief_subsidy.msg_claim_period_overlap_db'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.program, Index.Equality()),
                (t.end_date, Index.Range())))
        cls._order = [('end_date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'sent'),
            ('sent', 'paid'),
            ('paid', 'sent'),
            }
        cls._buttons.update({
                'generate': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-refresh',
                    'depends': ['state'],
                    },
                'send': {
                    'invisible': Eval('state') != 'draft',
                    'readonly': ~Eval('lines', []),
                    'icon': 'tryton-forward',
                    'depends': ['state', 'lines'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @fields.depends('program', '_parent_program.company')
    def on_change_with_company(self, name=None):
        return self.program.company if self.program else None

    @classmethod
    def search_company(cls, name, clause):
        return [('program.company',) + tuple(clause[1:])]

    @fields.depends('program', '_parent_program.payer')
    def on_change_with_payer(self, name=None):
        return self.program.payer if self.program else None

    @classmethod
    def search_payer(cls, name, clause):
        return [('program.payer',) + tuple(clause[1:])]

    @fields.depends('program', '_parent_program.company')
    def on_change_with_currency(self, name=None):
        return self.program.company.currency if self.program else None

    def get_rec_name(self, name):
        Lang = Pool().get('ir.lang')
        lang = Lang.get()
        return '%s %s – %s' % (self.program.rec_name,
            lang.strftime(self.start_date), lang.strftime(self.end_date))

    @classmethod
    def get_amount(cls, claims, name):
        "The sum of the lines of each claim, in one query per slice"
        pool = Pool()
        ClaimLine = pool.get('relief.subsidy.claim.line')
        line = ClaimLine.__table__()
        cursor = Transaction().connection.cursor()
        result = dict.fromkeys(map(int, claims), Decimal(0))
        for sub_ids in grouped_slice(
                [c.id for c in claims], backend.MAX_QUERY_PARAMS):
            cursor.execute(*line.select(line.claim, Sum(line.amount),
                    where=line.claim.in_(list(sub_ids)),
                    group_by=[line.claim]))
            for claim_id, amount in cursor:
                # SQLite adds NUMERIC as floats
                result[claim_id] = Decimal(str(amount)).quantize(
                    Decimal('0.01'))
        return result

    @classmethod
    def copy(cls, claims, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('state', 'draft')
        default.setdefault('lines')
        default.setdefault('invoice')
        return super().copy(claims, default=default)

    @classmethod
    def validate_fields(cls, claims, field_names):
        super().validate_fields(claims, field_names)
        cls.check_overlap(claims, field_names)

    @classmethod
    def check_overlap(cls, claims, field_names=None):
        "Refuse a period overlapping a sent or paid claim of the programme"
        if field_names and not (field_names & {
                    'program', 'start_date', 'end_date', 'state'}):
            return
        Lang = Pool().get('ir.lang')
        for claim in claims:
            others = cls.search([
                    ('program', '=', claim.program.id),
                    ('id', '!=', claim.id),
                    ('state', 'in', HOLDING),
                    ('start_date', '<=', claim.end_date),
                    ('end_date', '>=', claim.start_date),
                    ], limit=1)
            if others:
                other, = others
                lang = Lang.get()
                raise ClaimError(gettext(
                        'relief_subsidy.msg_claim_period_overlap',
                        program=claim.program.rec_name,
                        start=lang.strftime(claim.start_date),
                        end=lang.strftime(claim.end_date),
                        other=other.rec_name,
                        state=other.state_string))

    @classmethod
    def check_modification(cls, mode, claims, values=None, external=False):
        super().check_modification(
            mode, claims, values=values, external=external)
        if mode == 'delete':
            for claim in claims:
                if claim.state != 'draft':
                    raise ClaimError(gettext(
                            'relief_subsidy.msg_claim_delete_sent',
                            claim=claim.rec_name))
        elif external:
            cls.check_workflow_fields(mode, claims, values)

    @classmethod
    def check_workflow_fields(cls, mode, claims, values=None):
        """Refuse a user's call that does what the buttons and the payment
        of the invoice do, or that changes a sent claim"""
        for claim in claims:
            if mode == 'create':
                changed = [n for n, v in [
                        ('state', claim.state != 'draft'),
                        ('invoice', claim.invoice)] if v]
            else:
                changed = sorted(values.keys() & set(WORKFLOW_FIELDS))
            if changed:
                raise SubsidyAccessError(gettext(
                        'relief_subsidy.msg_claim_workflow_field',
                        claim=claim.rec_name,
                        field=cls.__names__(changed[0])['field']))
            if mode == 'write' and values and claim.state != 'draft':
                raise SubsidyAccessError(gettext(
                        'relief_subsidy.msg_claim_modify_sent',
                        claim=claim.rec_name,
                        state=claim.state_string))

    @classmethod
    @ModelView.button
    def generate(cls, claims):
        """Fill each draft claim with the programme's unclaimed subsidies up
        to its end date: one INSERT…SELECT per claim"""
        pool = Pool()
        ClaimLine = pool.get('relief.subsidy.claim.line')
        table = ClaimLine.__table__()
        cursor = Transaction().connection.cursor()
        cls.lock_programs(claims)
        claims = [c for c in claims if c.state == 'draft']
        if not claims:
            return
        cursor.execute(*table.delete(
                where=table.claim.in_([c.id for c in claims])))
        for claim in claims:
            try:
                cursor.execute(*table.insert(
                        [table.claim, table.subsidy_line, table.amount,
                            table.create_uid, table.create_date],
                        claim._unclaimed_query()))
            except backend.DatabaseIntegrityError:
                # A subsidy claimed (or removed) meanwhile by a transaction
                # that did not lock the programme
                raise ClaimError(gettext(
                        'relief_subsidy.msg_claim_generate_concurrent',
                        claim=claim.rec_name,
                        program=claim.program.rec_name))

    @classmethod
    def lock_programs(cls, claims):
        """Hold the rows of the claims' programmes until the end of the
        transaction: of two transactions that claim subsidies of one
        programme at the same time, the second waits for the first and runs
        again, seeing what the first claimed (lock_rows).  The rows are
        updated too: a transaction that began before the first committed
        cannot lock them any more without running again."""
        pool = Pool()
        Program = pool.get('relief.subsidy.program')
        table = Program.__table__()
        cursor = Transaction().connection.cursor()
        programs = sorted({c.program for c in claims}, key=lambda p: p.id)
        if not programs:
            return
        where = table.id.in_([p.id for p in programs])
        lock_rows(table, where, ', '.join(p.rec_name for p in programs))
        cursor.execute(*table.update(
                [table.consumed], [table.consumed], where=where))

    def _unclaimed_query(self):
        "SELECT the claim line values of the unclaimed subsidies"
        pool = Pool()
        SubsidyLine = pool.get('relief.subsidy.line')
        ClaimLine = pool.get('relief.subsidy.claim.line')
        line = SubsidyLine.__table__()
        claimed = ClaimLine.__table__()
        return line.select(
            Literal(self.id), line.id, line.amount,
            Literal(Transaction().user), CurrentTimestamp(),
            where=(line.program == self.program.id)
            & line.state.in_(['confirmed', 'cancelled'])
            & (line.date <= self.end_date)
            & ~Exists(claimed.select(Literal(1),
                    where=claimed.subsidy_line == line.id)))

    @classmethod
    @ModelView.button
    @Workflow.transition('sent')
    def send(cls, claims):
        "Invoice each claim to its payer and post the invoice"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        # Invoice what no Generate Lines of the programme changes meanwhile
        cls.lock_programs(claims)
        for claim in claims:
            if not claim.lines:
                raise ClaimError(gettext(
                        'relief_subsidy.msg_claim_empty',
                        claim=claim.rec_name))
            claim.check_payer_account()
            claim.invoice = claim._get_invoice()
        Invoice.save([c.invoice for c in claims])
        cls.save(claims)
        Invoice.update_taxes([c.invoice for c in claims])
        Invoice.post([c.invoice for c in claims])

    def check_payer_account(self):
        if not self.program.account:
            raise ClaimError(gettext(
                    'relief_subsidy.msg_claim_no_account',
                    program=self.program.rec_name))

    def _get_invoice(self):
        "Return the invoice to the payer, one line per product or sale"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Date = pool.get('ir.date')
        payer = self.program.payer
        with Transaction().set_context(company=self.program.company.id):
            today = Date.today()
        invoice = Invoice(
            company=self.program.company, type='out', party=payer,
            invoice_address=payer.address_get(type='invoice'),
            currency=self.currency, account=payer.account_receivable_used,
            invoice_date=today,
            description=self.rec_name,
            payment_term=payer.customer_payment_term)
        invoice.set_journal()
        invoice.lines = self._get_invoice_lines()
        return invoice

    def _get_invoice_lines(self):
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        lines = []
        for description, amount in self._grouped_amounts():
            lines.append(InvoiceLine(
                    type='line', invoice_type='out',
                    company=self.program.company, currency=self.currency,
                    account=self.program.account, quantity=1,
                    unit_price=amount, description=description,
                    origin=self, taxes=[]))
        return lines

    def _grouped_amounts(self):
        """Return (description, amount) per product or sale, as the
        programme says: one GROUP BY"""
        pool = Pool()
        ClaimLine = pool.get('relief.subsidy.claim.line')
        SubsidyLine = pool.get('relief.subsidy.line')
        SaleLine = pool.get('sale.line')
        Sale = pool.get('sale.sale')
        Product = pool.get('product.product')
        claim_line = ClaimLine.__table__()
        line = SubsidyLine.__table__()
        sale_line = SaleLine.__table__()
        join = (claim_line
            .join(line, condition=claim_line.subsidy_line == line.id)
            .join(sale_line, condition=line.sale_line == sale_line.id))
        if self.program.claim_grouping == 'sale':
            key, Model = line.sale, Sale
        else:
            key, Model = sale_line.product, Product
        cursor = Transaction().connection.cursor()
        cursor.execute(*join.select(key, Sum(line.quantity),
                Sum(claim_line.amount), Count(claim_line.id),
                where=claim_line.claim == self.id,
                group_by=[key], order_by=[key]))
        rows = cursor.fetchall()
        records = {r.id: r for r in Model.browse(
                [k for k, *_ in rows if k is not None])}
        result = []
        for key_id, quantity, amount, count in rows:
            amount = Decimal(str(amount)).quantize(Decimal('0.01'))
            name = records[key_id].rec_name if key_id else ''
            if self.program.claim_grouping == 'sale':
                description = gettext('relief_subsidy.msg_claim_line_sale',
                    sale=name, party=records[key_id].party.rec_name)
            else:
                description = gettext(
                    'relief_subsidy.msg_claim_line_product',
                    product=name, quantity=quantity, count=count)
            result.append((description, amount))
        return result

    @classmethod
    @Workflow.transition('paid')
    def pay(cls, claims):
        pass

    @classmethod
    @Workflow.transition('sent')
    def unpay(cls, claims):
        pass


class ClaimLine(ModelSQL, ModelView):
    "Subsidy Claim Line"
    __name__ = 'relief.subsidy.claim.line'
    __string__ = "Subsidy Claim Line"
    _company = {'company': Eval('_parent_claim', {}).get('company', -1)}

    claim = fields.Many2One(
        'relief.subsidy.claim', "Claim", required=True, ondelete='CASCADE')
    subsidy_line = fields.Many2One(
        'relief.subsidy.line', "Subsidy Line", required=True,
        ondelete='RESTRICT')
    amount = fields.Numeric("Amount", digits=(16, 2), required=True)
    sale = fields.Function(fields.Many2One('sale.sale', "Sale"),
        'get_subsidy_field')
    member = fields.Function(fields.Many2One('party.party', "Customer",
            context=_company),
        'get_subsidy_field')
    product = fields.Function(fields.Many2One('product.product', "Product",
            context=_company),
        'get_subsidy_field')
    quantity = fields.Function(fields.Float("Quantity"), 'get_subsidy_field')
    date = fields.Function(fields.Date("Date"), 'get_subsidy_field')

    del _company

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('claim')
        t = cls.__table__()
        # A subsidy is claimed at most once
        cls._sql_constraints += [
            ('subsidy_line_unique', Unique(t, t.subsidy_line),
                'relief_subsidy.msg_subsidy_claimed_once'),
            ]
        cls._sql_indexes.add(Index(t, (t.claim, Index.Equality())))
        cls._order = [('id', 'ASC')]

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        # Generate Lines makes them (in SQL): a user's call never does,
        # whatever the claim lets them write.
        if not external or not lines or (mode == 'write' and not values):
            return
        claim = lines[0].claim
        if mode == 'create':
            raise SubsidyAccessError(gettext(
                    'relief_subsidy.msg_claim_line_create',
                    claim=claim.rec_name))
        elif mode == 'write':
            raise SubsidyAccessError(gettext(
                    'relief_subsidy.msg_claim_line_modify',
                    claim=claim.rec_name,
                    field=cls.__names__(sorted(values)[0])['field']))
        else:
            raise SubsidyAccessError(gettext(
                    'relief_subsidy.msg_claim_line_delete',
                    claim=claim.rec_name))

    def get_subsidy_field(self, name):
        value = getattr(self.subsidy_line, name)
        if isinstance(value, ModelSQL):
            return value.id
        return value


class ClaimDetail(Report):
    "Subsidy Claim Detail (Excel)"
    __name__ = 'relief.subsidy.claim.xlsx'

    @classmethod
    def _execute(cls, records, header, data, action):
        claim = records[0]
        layout = Layout(cls._columns(),
            sheet=gettext('relief_subsidy.msg_claim_detail_sheet'),
            title=gettext('relief_subsidy.msg_claim_detail_title',
                claim=claim.rec_name, payer=claim.payer.rec_name))
        rows = [row for c in records for row in cls._rows(c)]
        return 'xlsx', write_workbook(layout, rows, footer_lines=[
                gettext('relief_subsidy.msg_claim_detail_total',
                    amount=sum(c.amount for c in records))])

    @classmethod
    def _columns(cls):
        def msg(name):
            return gettext('relief_subsidy.msg_claim_column_' + name)
        return [
            Column('sequence', msg('sequence'), 'integer'),
            Column('sale', msg('sale')),
            Column('date', msg('date'), 'date'),
            Column('member', msg('member')),
            Column('union', msg('union')),
            Column('product', msg('product')),
            Column('quantity', msg('quantity'), 'numeric'),
            Column('unit_amount', msg('unit_amount'), 'numeric'),
            Column('amount', msg('amount'), 'numeric'),
            ]

    @classmethod
    def _rows(cls, claim):
        pool = Pool()
        ClaimLine = pool.get('relief.subsidy.claim.line')
        for line in ClaimLine.search([('claim', '=', claim.id)]):
            subsidy = line.subsidy_line
            sale = subsidy.sale
            yield {
                'sale': sale.rec_name,
                'date': subsidy.date,
                'member': subsidy.member.rec_name,
                'union': (sale.relief_union.rec_name
                    if sale.relief_union else None),
                'product': subsidy.product.rec_name
                if subsidy.product else None,
                'quantity': subsidy.quantity,
                'unit_amount': subsidy.unit_amount,
                'amount': line.amount,
                }


class Reconciliation(ModelSQL, ModelView):
    "Subsidy Reconciliation"
    __name__ = 'relief.subsidy.reconciliation'
    __string__ = "Subsidy Reconciliation"

    program = fields.Many2One('relief.subsidy.program', "Programme")
    payer = fields.Many2One('party.party', "Payer",
        context={'company': Eval('company', -1)}, depends=['company'])
    company = fields.Many2One('company.company', "Company")
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'get_currency')
    period = fields.Many2One('account.period', "Period")
    start_date = fields.Date("Start Date")
    end_date = fields.Date("End Date")
    budget = Monetary("Budget", digits='currency', currency='currency')
    consumed = Monetary(
        "Consumed", digits='currency', currency='currency',
        help="The subsidies of the sales confirmed in the period.")
    claimed = Monetary(
        "Claimed", digits='currency', currency='currency',
        help="What claims hold of them, sent or not.")
    invoiced = Monetary(
        "Invoiced", digits='currency', currency='currency',
        help="What sent claims invoiced to the payer.")
    paid = Monetary(
        "Paid", digits='currency', currency='currency',
        help="What the claims paid by the payer hold.")
    unclaimed = fields.Function(Monetary(
            "Unclaimed", digits='currency', currency='currency'),
        'get_differences')
    outstanding = fields.Function(Monetary(
            "Outstanding", digits='currency', currency='currency'),
        'get_differences')
    mismatches = fields.Function(fields.Text("Mismatches"),
        'get_differences')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('start_date', 'DESC'), ('program', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Program = pool.get('relief.subsidy.program')
        Period = pool.get('account.period')
        FiscalYear = pool.get('account.fiscalyear')
        SubsidyLine = pool.get('relief.subsidy.line')
        ClaimLine = pool.get('relief.subsidy.claim.line')
        Claim = pool.get('relief.subsidy.claim')
        program = Program.__table__()
        period = Period.__table__()
        fiscalyear = FiscalYear.__table__()

        def total(states=None):
            "The subsidies of the programme in the period, in claims"
            line = SubsidyLine.__table__()
            claim_line = ClaimLine.__table__()
            claim = Claim.__table__()
            where = ((line.program == program.id)
                & line.state.in_(['confirmed', 'cancelled'])
                & (line.date >= period.start_date)
                & (line.date <= period.end_date))
            if states is None:
                return line.select(
                    Coalesce(Sum(line.amount), 0), where=where)
            join = (line
                .join(claim_line, condition=claim_line.subsidy_line == line.id)
                .join(claim, condition=claim_line.claim == claim.id))
            if states:
                where &= claim.state.in_(states)
            return join.select(
                Coalesce(Sum(claim_line.amount), 0), where=where)
        return (program
            .join(fiscalyear,
                condition=fiscalyear.company == program.company)
            .join(period, condition=(period.fiscalyear == fiscalyear.id)
                & (period.type == 'standard')
                & (period.start_date <= program.valid_to)
                & (period.end_date >= program.valid_from))
            .select(
                (program.id * 1000000 + period.id).as_('id'),
                program.id.as_('program'),
                program.payer.as_('payer'),
                program.company.as_('company'),
                period.id.as_('period'),
                period.start_date.as_('start_date'),
                period.end_date.as_('end_date'),
                program.budget.as_('budget'),
                total().as_('consumed'),
                total([]).as_('claimed'),
                total(HOLDING).as_('invoiced'),
                total(['paid']).as_('paid'),
                where=program.state.in_(['running', 'closed'])))

    def get_currency(self, name):
        return self.company.currency.id

    @classmethod
    def get_differences(cls, records, names):
        "Unclaimed, outstanding and the mismatches found"
        pool = Pool()
        Lang = pool.get('ir.lang')
        Claim = pool.get('relief.subsidy.claim')
        lang = Lang.get()
        result = {n: {} for n in names}
        programs = {r.program for r in records}
        claims = Claim.search([
                ('program', 'in', [p.id for p in programs]),
                ('state', 'in', HOLDING),
                ])
        wrong = [c for c in claims
            if c.invoice.total_amount != c.amount]
        for record in records:
            money = lambda v: lang.currency(  # noqa: E731
                v, record.currency, grouping=True)
            unclaimed = (record.consumed or 0) - (record.claimed or 0)
            outstanding = (record.invoiced or 0) - (record.paid or 0)
            mismatches = []
            if unclaimed:
                mismatches.append(gettext(
                        'relief_subsidy.msg_reconciliation_unclaimed',
                        amount=money(unclaimed)))
            if outstanding:
                mismatches.append(gettext(
                        'relief_subsidy.msg_reconciliation_outstanding',
                        amount=money(outstanding)))
            for claim in wrong:
                if (claim.program == record.program
                        and claim.start_date <= record.end_date
                        and claim.end_date >= record.start_date):
                    mismatches.append(gettext(
                            'relief_subsidy.msg_reconciliation_invoice',
                            claim=claim.rec_name,
                            invoice=money(claim.invoice.total_amount),
                            amount=money(claim.amount)))
            if 'unclaimed' in names:
                result['unclaimed'][record.id] = unclaimed
            if 'outstanding' in names:
                result['outstanding'][record.id] = outstanding
            if 'mismatches' in names:
                result['mismatches'][record.id] = '\n'.join(mismatches)
        return result
