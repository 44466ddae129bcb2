# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Members at the counter: member prices, and the running programmes'
subsidies on sale_point's sales, with the budgets and member limits of the
mall's orders (relief_subsidy's Program.consume, race-proof)."""
from collections import defaultdict
from decimal import Decimal

from sql.conditionals import Coalesce

from trytond.i18n import gettext
from trytond.model import Check, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.relief.totals import lock_rows
from trytond.modules.product import round_price
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .exceptions import CounterAccessError, CounterError, MemberError

# Changed by the buttons only, never by a user's write
WORKFLOW_FIELDS = {'state', 'number', 'move', 'member', 'subsidy_lines'}


class POSSale(metaclass=PoolMeta):
    __name__ = 'sale.point.sale'

    member_code = fields.Char(
        "Member Number",
        states={'readonly': Eval('state') != 'open'},
        help="The member number on the member's card or in the app; "
        "members pay the member price and get the programmes' subsidies.")
    member = fields.Many2One(
        'party.party', "Member", readonly=True, ondelete='RESTRICT',
        context={'company': Eval('company', -1)}, depends={'company'})
    subsidy_lines = fields.One2Many(
        'relief.subsidy.line', 'point_sale', "Subsidies", readonly=True)
    subsidy_amount = fields.Function(Monetary(
            "Subsidies", currency='currency', digits='currency'),
        'on_change_with_subsidy_amount')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons['pay']['readonly'] = ~Eval('amount_to_pay')

    @classmethod
    def check_modification(cls, mode, sales, values=None, external=False):
        super().check_modification(
            mode, sales, values=values, external=external)
        if external and mode in {'create', 'write'}:
            cls.check_workflow_fields(mode, sales, values)

    @classmethod
    def check_workflow_fields(cls, mode, sales, values):
        """Refuse a user's call that does what the buttons do: the state,
        the number and the move change through Pay, Process and Post, the
        member through the member number"""
        for sale in sales:
            if mode == 'create':
                changed = [n for n, v in [
                        ('state', sale.state != 'open'),
                        ('number', sale.number),
                        ('move', sale.move)] if v]
            else:
                changed = values.keys() & WORKFLOW_FIELDS
                if 'member_code' in values:
                    changed.discard('member')  # found by its number
                changed = sorted(changed)
            if changed:
                raise CounterAccessError(gettext(
                        'relief_counter.msg_sale_workflow_field',
                        sale=sale.rec_name,
                        field=cls.__names__(changed[0])['field']))

    @fields.depends('subsidy_lines')
    def on_change_with_subsidy_amount(self, name=None):
        return sum((s.amount for s in self.subsidy_lines
                if s.amount is not None), Decimal(0))

    @fields.depends(methods=['on_change_with_subsidy_amount'])
    def on_change_with_amount_to_pay(self, name=None):
        # The payers pay their share through the claims
        return (super().on_change_with_amount_to_pay()
            - self.on_change_with_subsidy_amount())

    @fields.depends('member_code', 'lines')
    def on_change_member_code(self):
        self.member = self.find_member(self.member_code)

    @classmethod
    def find_member(cls, code):
        "Return the member of the number or card code; refuse an unknown one"
        Party = Pool().get('party.party')
        if not code:
            return None
        code = code.strip()
        members = Party.search([
                ('member_number', '=', code),
                ('member_union', '!=', None),
                ], limit=1)
        if not members:
            raise MemberError(gettext(
                    'relief_counter.msg_member_unknown', code=code))
        return members[0]

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if 'member_code' in values:
            member = cls.find_member(values['member_code'])
            values['member'] = member.id if member else None
        return values

    @classmethod
    def on_modification(cls, mode, sales, field_names=None):
        super().on_modification(mode, sales, field_names=field_names)
        if mode == 'write' and field_names & {
                'member_code', 'member', 'lines', 'date'}:
            # What the subsidies were computed on changed: Pay computes
            # them again
            cls.clear_subsidies(sales)

    @classmethod
    @ModelView.button_action('sale_point.wizard_pay')
    def pay(cls, sales):
        cls.apply_subsidies(sales)
        super().pay(sales)

    @classmethod
    def clear_subsidies(cls, sales):
        "Delete the subsidies computed for open sales"
        SubsidyLine = Pool().get('relief.subsidy.line')
        table = SubsidyLine.__table__()
        ids = [s.id for s in sales if s.state == 'open']
        if ids:
            Transaction().connection.cursor().execute(*table.delete(
                    where=table.point_sale.in_(ids)
                    & (table.state == 'quotation')))

    @classmethod
    def apply_subsidies(cls, sales):
        """Compute the subsidies of the members' open sales at the lines'
        prices, by the programmes' priority, as quotation lines: what the
        member pays until the sale is done (then they are consumed)"""
        SubsidyLine = Pool().get('relief.subsidy.line')
        sales = [s for s in sales if s.state == 'open']
        cls.clear_subsidies(sales)
        cache, to_create = {}, []
        for sale in sales:
            if sale.member:
                to_create.extend(line.subsidy_line(program, unit)
                    for line, program, unit in cls.compute_subsidies(
                        sale.company, sale.date, sale.member, sale.lines,
                        cache))
        # Computed by the programmes, not by the user: not the clerk's
        # rights on subsidies, nothing to validate
        SubsidyLine.insert(to_create)

    @classmethod
    def compute_subsidies(cls, company, date, member, lines, cache):
        """Return [(line, programme, unit subsidy)] of the member's lines
        (each with product, quantity and unit_price) by the running
        programmes' priority; cache keeps the programmes and their
        eligibility from a call to the next"""
        Program = Pool().get('relief.subsidy.program')
        if (company, date) not in cache:
            cache[company, date] = Program.get_applicable(company, date)
        result = []
        for line in lines:
            if line.quantity <= 0:
                continue
            price = base = line.unit_price
            for program in cache[company, date]:
                if program not in cache:
                    cache[program] = program.eligibility()
                if not program.is_eligible(cache[program], member,
                        line.product):
                    continue
                unit = program.unit_subsidy(base, price)
                if unit:
                    result.append((line, program, unit))
                    price -= unit
        return result

    @classmethod
    @Workflow.transition('done')
    def do(cls, sales):
        pool = Pool()
        Program = pool.get('relief.subsidy.program')
        Program.consume(cls.confirm_subsidies(sales))
        cls.lock_sequences(sales)
        super().do(sales)

    @classmethod
    @ModelView.button
    @Workflow.transition('posted')
    def post(cls, sales):
        # The account moves' numbers: every counter posts in the same
        # sequences
        cls.lock_sequences(sales, moves=True)
        super().post(sales)

    @classmethod
    def lock_sequences(cls, sales, moves=False):
        """Wait for the strict sequences that numbering the sales (or
        with moves, posting their account moves) locks (lock_rows):
        Tryton's own lock gives up within a fraction of a second while
        another transaction holds it, an HTTP 503 (and it starts the call
        again even when the sequence is free)"""
        pool = Pool()
        Sequence = pool.get('ir.sequence.strict')
        Period = pool.get('account.period')
        table = Sequence.__table__()
        if moves:
            sequences = {Period.find(s.company, date=s.date).move_sequence_used
                for s in sales}
        else:
            sequences = {s.point.sequence for s in sales if not s.number}
        if sequences:
            lock_rows(table, table.id.in_([q.id for q in sequences]),
                ', '.join(sorted(q.rec_name for q in sequences)),
                update=True)

    @classmethod
    def confirm_subsidies(cls, sales):
        """Mark the sales' computed subsidies confirmed, dated as the sale
        (an UPDATE per date); return them as records for Program.consume"""
        SubsidyLine = Pool().get('relief.subsidy.line')
        by_date = defaultdict(list)
        for sale in sales:
            by_date[sale.date].append(sale.id)
        return SubsidyLine.confirm('point_sale', by_date)

    @classmethod
    @ModelView.button
    @Workflow.transition('open')
    def open(cls, sales):
        "Give back the subsidies of a sale done that is opened again"
        pool = Pool()
        Program = pool.get('relief.subsidy.program')
        SubsidyLine = pool.get('relief.subsidy.line')
        lines = [l for s in sales if s.state == 'done'
            for l in s.subsidy_lines if l.state == 'confirmed']
        claimed = SubsidyLine.claimed(lines)
        if claimed:
            line = next(iter(claimed))
            raise CounterError(gettext(
                    'relief_counter.msg_sale_open_claimed',
                    sale=line.point_sale.rec_name,
                    program=line.program.rec_name))
        Program.consume(lines, sign=-1)
        with without_check_access():
            SubsidyLine.write(lines, {'state': 'quotation', 'date': None})
        super().open(sales)

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, sales):
        super().cancel(sales)
        cls.clear_subsidies([s for s in sales])

    def get_account_move(self):
        "Debit each payer's subsidy receivable with its share"
        move = super().get_account_move()
        move.lines = list(move.lines) + self.get_subsidy_move_lines()
        return move

    def get_subsidy_move_lines(self):
        MoveLine = Pool().get('account.move.line')
        shares = defaultdict(Decimal)
        for subsidy in self.subsidy_lines:
            if subsidy.state == 'confirmed':
                shares[subsidy.program] += subsidy.amount
        lines = []
        for program, amount in shares.items():
            if amount:
                lines.append(MoveLine(
                        account=program.account, party=program.payer,
                        debit=amount, credit=Decimal(0),
                        description=program.rec_name))
        return lines

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('subsidy_lines')
        return super().copy(sales, default=default)


class POSSaleLine(metaclass=PoolMeta):
    __name__ = 'sale.point.sale.line'

    subsidy_lines = fields.One2Many(
        'relief.subsidy.line', 'point_line', "Subsidies", readonly=True)

    @fields.depends('sale', '_parent_sale.member', '_parent_sale.point',
        '_parent_sale.date', 'quantity')
    def on_change_product(self):
        super().on_change_product()
        price = self.member_unit_price()
        if price is not None:
            self.set_member_price(price)
            self.unit_price = self.on_change_with_unit_price()
            self.amount = self.on_change_with_amount()

    @classmethod
    def on_modification(cls, mode, lines, field_names=None):
        super().on_modification(mode, lines, field_names=field_names)
        # A line added or changed on its own: Pay computes the subsidies
        # again
        if mode in {'create', 'write'}:
            Sale = Pool().get('sale.point.sale')
            Sale.clear_subsidies(list({l.sale for l in lines}))

    def member_unit_price(self):
        "The price of the point's member price list, if the buyer is one"
        if not (self.product and self.sale and self.sale.member
                and self.sale.point
                and self.sale.point.member_price_list
                and self.unit_list_price is not None):
            return None
        with Transaction().set_context(
                company=self.sale.point.company.id,
                customer=self.sale.member.id, date=self.sale.date):
            return self.sale.point.member_price_list.compute(
                self.product, self.quantity or 1, self.product.sale_uom)

    def set_member_price(self, price):
        "Set the untaxed member price and its gross price"
        Tax = Pool().get('account.tax')
        self.unit_list_price = round_price(price)
        taxes = Tax.compute(self.taxes, self.unit_list_price, 1,
            date=self.sale.date)
        self.unit_gross_price = (self.unit_list_price
            + sum(t['amount'] for t in taxes)).quantize(
                Decimal(1) / 10 ** self.__class__.unit_gross_price.digits[1])

    def subsidy_line(self, program, unit):
        "Return the quotation subsidy line of program at unit amount"
        SubsidyLine = Pool().get('relief.subsidy.line')
        return SubsidyLine(
            point_sale=self.sale, point_line=self,
            program=program, member=self.sale.member,
            quantity=self.quantity, unit_amount=unit,
            amount=self.sale.currency.round(
                unit * Decimal(str(self.quantity))),
            state='quotation')

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('subsidy_lines')
        return super().copy(lines, default=default)


class SubsidyLine(metaclass=PoolMeta):
    __name__ = 'relief.subsidy.line'

    point_sale = fields.Many2One(
        'sale.point.sale', "Counter Sale", readonly=True,
        ondelete='CASCADE')
    point_line = fields.Many2One(
        'sale.point.sale.line', "Counter Sale Line", readonly=True,
        ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # A subsidy is of a sale (the mall, the back office) or of a
        # counter sale
        cls.sale.required = False
        cls.sale_line.required = False
        # Each line has one of them: the rules of the one it has apply
        # (relief.ir.Rule), not those of both (__access__)
        cls.__access__.discard('sale')
        cls._access_optional = {'sale', 'point_sale'}
        t = cls.__table__()
        cls._sql_constraints += [
            ('sale_or_point_sale', Check(t,
                    (Coalesce(t.sale, t.point_sale) != None)  # noqa: E711
                    & ((t.sale == None) | (t.point_sale == None))),  # noqa
                'relief_counter.msg_subsidy_sale_or_point'),
            ]

    @classmethod
    def _insert_fields(cls):
        return super()._insert_fields() + ['point_sale', 'point_line']

    def get_product(self, name):
        if self.point_line:
            return self.point_line.product.id
        return super().get_product(name)

    def get_currency(self, name):
        if self.point_sale:
            return self.point_sale.currency.id
        return super().get_currency(name)

    def get_rec_name(self, name):
        if self.point_sale:
            return '%s - %s' % (
                self.point_sale.rec_name, self.program.rec_name)
        return super().get_rec_name(name)
