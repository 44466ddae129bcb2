# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import math
from collections import defaultdict
from decimal import Decimal
from types import SimpleNamespace

from sql import Column
from sql.conditionals import Case
from sql.functions import CurrentTimestamp

from trytond.backend import MAX_QUERY_PARAMS
from trytond.i18n import gettext
from trytond.model import (
    Index, Model, ModelSQL, ModelView, Workflow, fields)
from trytond.modules.currency.fields import Monetary
from trytond.modules.product import price_digits, round_price
from trytond.modules.relief_union.ir import ExportRulesMixin
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .exceptions import CouponError, SubsidyAccessError


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    subsidy_lines = fields.One2Many(
        'relief.subsidy.line', 'sale', "Subsidies", readonly=True,
        states={'invisible': ~Eval('subsidy_lines')})
    subsidy_amount = fields.Function(Monetary(
            "Subsidies", digits='currency', currency='currency',
            help="What the payers of the subsidy programmes pay."),
        'get_subsidy_amounts')
    full_amount = fields.Function(Monetary(
            "Full Price", digits='currency', currency='currency',
            help="What the customer and the payers pay together."),
        'get_subsidy_amounts')
    subsidy_payers = fields.Function(fields.Text(
            "What Each Payer Pays"), 'get_subsidy_amounts')
    relief_coupon = fields.Char(
        "Coupon Code", states={'readonly': Eval('state') != 'draft'},
        help="The code of the coupon a subsidy programme requires.")

    @classmethod
    def get_subsidy_amounts(cls, sales, names):
        "Sum the effective subsidy lines of the sales"
        Lang = Pool().get('ir.lang')
        lang = Lang.get()
        result = {n: {} for n in names}
        for sale in sales:
            total = Decimal(0)
            payers = defaultdict(Decimal)
            for line in sale.subsidy_lines:
                if line.state == 'cancelled' or line.reversal_of:
                    continue
                total += line.amount
                payers[line.program.payer] += line.amount
            if 'subsidy_amount' in names:
                result['subsidy_amount'][sale.id] = total
            if 'full_amount' in names:
                result['full_amount'][sale.id] = (
                    (sale.total_amount or 0) + total)
            if 'subsidy_payers' in names:
                lines = ['%s: %s' % (
                        sale.party.rec_name,
                        lang.currency(sale.total_amount or 0, sale.currency,
                            grouping=True))]
                lines += ['%s: %s' % (payer.rec_name, lang.currency(
                            amount, sale.currency, grouping=True))
                    for payer, amount in payers.items()]
                result['subsidy_payers'][sale.id] = '\n'.join(lines)
        return result

    @classmethod
    @ModelView.button
    @Workflow.transition('quotation')
    def quote(cls, sales):
        # After the quotation: relief_union counts the union's relief
        # spending at the goods' full value (Line.relief_amount), which
        # the subsidies must not lower.
        super().quote(sales)
        cls.apply_subsidies(sales)

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, sales):
        cls.unapply_subsidies(sales)
        super().draft(sales)

    @classmethod
    @ModelView.button
    @Workflow.transition('confirmed')
    def confirm(cls, sales):
        pool = Pool()
        SubsidyLine = pool.get('relief.subsidy.line')
        Program = pool.get('relief.subsidy.program')
        # Before Sale.confirm, which processes the sales: a refusal costs
        # nothing.  The sale date is the one confirming sets.
        cls.set_sale_date(sales)
        Program.consume(SubsidyLine.confirm_sales(sales))
        super().confirm(sales)

    @classmethod
    @ModelView.button
    def process(cls, sales):
        pool = Pool()
        SubsidyLine = pool.get('relief.subsidy.line')
        super().process(sales)
        # Goods cancelled, or invoices, change the actual quantities; the
        # subsidies follow once the exception is handled: a cancelled
        # shipment may still be recreated.
        SubsidyLine.follow_actual_quantities([s for s in cls.browse(sales)
                if s.state in {'processing', 'done'}
                and 'exception' not in {s.shipment_state, s.invoice_state}])

    @classmethod
    def apply_subsidies(cls, sales):
        """Create the subsidy lines of each eligible line, by priority, and
        lower its unit price by their sum"""
        pool = Pool()
        SubsidyLine = pool.get('relief.subsidy.line')
        Line = pool.get('sale.line')
        to_create, to_save, to_save_sales = [], [], []
        programs, eligibility = {}, {}
        for sale in sales:
            number = sale._relief_coupon_number(sale._subsidy_date())
            if number and number not in sale.coupons:
                sale.coupons += (number,)
                to_save_sales.append(sale)
            for line, units in sale.subsidy_units(
                    number, programs, eligibility):
                base = line.unit_price
                price = base
                for program, unit in units:
                    to_create.append(line._subsidy_line(program, unit))
                    price -= unit
                if price != base:
                    to_save.append((line, round_price(price), base))
        cls.save(to_save_sales)
        Line.set_subsidy_prices(to_save)
        SubsidyLine.insert(to_create)

    def _subsidy_date(self):
        Date = Pool().get('ir.date')
        with Transaction().set_context(company=self.company.id):
            return self.sale_date or Date.today()

    def subsidy_units(self, number=None, programs=None, eligibility=None):
        """Return [(line, [(program, unit amount)])]: what each programme
        pays per unit of each line, by priority, at the lines' unit prices
        (writes nothing: a quotation and the mall's quote use it).
        programs and eligibility are caches shared between sales."""
        Program = Pool().get('relief.subsidy.program')
        programs = programs if programs is not None else {}
        eligibility = eligibility if eligibility is not None else {}
        key = (self.company, self._subsidy_date())
        if key not in programs:
            programs[key] = Program.get_applicable(*key)
        returned = self._returned_subsidies()
        result = []
        for line in self.lines:
            if line.type != 'line' or not line.product:
                continue
            units = []
            if line.quantity < 0:
                # A return: the subsidies of the sale it returns
                units = list((returned or {}).get(line.product, []))
                result.append((line, units))
                continue
            base = price = line.unit_price
            for program in programs[key]:
                if program not in eligibility:
                    eligibility[program] = program.eligibility()
                if not program.is_eligible(eligibility[program],
                        self.party, line.product, number):
                    continue
                unit = program.unit_subsidy(base, price)
                if unit:
                    units.append((program, unit))
                    price -= unit
            result.append((line, units))
        return result

    def _relief_coupon_number(self, date):
        """Return the coupon number of the sale's coupon code; refuse an
        unknown code, one out of its dates or already used"""
        pool = Pool()
        Number = pool.get('sale.promotion.coupon.number')
        Program = pool.get('relief.subsidy.program')
        Lang = pool.get('ir.lang')
        if not self.relief_coupon:
            return None
        code = self.relief_coupon.strip()
        with Transaction().set_context(active_test=False):
            numbers = Number.search([
                    ('number', '=', code),
                    ('company', '=', self.company.id),
                    ], limit=1)
        if not numbers:
            raise CouponError(gettext('relief_subsidy.msg_coupon_unknown',
                    sale=self.rec_name, code=code))
        number, = numbers
        programs = Program.search([('coupon', '=', number.coupon.id)])
        names = ', '.join(p.rec_name for p in programs) or (
            number.coupon.rec_name)
        lang = Lang.get()
        if ((number.start_date and number.start_date > date)
                or (number.end_date and number.end_date < date)):
            raise CouponError(gettext('relief_subsidy.msg_coupon_expired',
                    program=names, sale=self.rec_name, code=code,
                    start=lang.strftime(number.start_date)
                    if number.start_date else '',
                    end=lang.strftime(number.end_date)
                    if number.end_date else '',
                    date=lang.strftime(date)))
        if number not in self.coupons:
            with Transaction().set_context(party=[self.party.id]):
                if not Number(number.id).active:
                    raise CouponError(gettext(
                            'relief_subsidy.msg_coupon_used',
                            program=names, sale=self.rec_name, code=code,
                            uses=number.coupon.number_of_use))
        return number

    def _returned_subsidies(self):
        """Return the subsidies per unit of the sale this one returns, by
        product: [(program, unit amount)]; None when it returns none"""
        pool = Pool()
        Sale = pool.get('sale.sale')
        if not isinstance(self.origin, Sale):
            return None
        result = defaultdict(list)
        for line in self.origin.subsidy_lines:
            if line.state == 'confirmed' and not line.reversal_of:
                product = line.sale_line.product
                if not any(p == line.program for p, _ in result[product]):
                    result[product].append((line.program, line.unit_amount))
        return result

    @classmethod
    def unapply_subsidies(cls, sales):
        """Restore the unit prices; take back what confirmed lines consumed.

        A claimed line stays, cancelled, with a reversal line that the next
        claim credits to the payer."""
        pool = Pool()
        SubsidyLine = pool.get('relief.subsidy.line')
        Program = pool.get('relief.subsidy.program')
        Line = pool.get('sale.line')
        lines = SubsidyLine.search([
                ('sale', 'in', [s.id for s in sales]),
                ('state', 'in', ['quotation', 'confirmed']),
                ('reversal_of', '=', None),
                ])
        confirmed = [l for l in lines if l.state == 'confirmed']
        Program.consume(confirmed, sign=-1)
        claimed = SubsidyLine.claimed(confirmed)
        SubsidyLine.reverse([l for l in confirmed if l in claimed])
        # The workflow's, not the user's: no user may change subsidies
        with without_check_access():
            SubsidyLine.delete([l for l in lines if l not in claimed])
        to_save, to_save_sales = [], []
        for sale in sales:
            if sale.relief_coupon:
                coupons = [n for n in sale.coupons
                    if n.number != sale.relief_coupon.strip()]
                if len(coupons) != len(sale.coupons):
                    sale.coupons = coupons
                    to_save_sales.append(sale)
            for line in sale.lines:
                if line.subsidy_base_price is not None:
                    line.unit_price = line.subsidy_base_price
                    line.subsidy_base_price = None
                    to_save.append(line)
        cls.save(to_save_sales)
        Line.save(to_save)

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('subsidy_lines')
        default.setdefault('relief_coupon')
        return super().copy(sales, default=default)


class Line(metaclass=PoolMeta):
    __name__ = 'sale.line'

    subsidy_base_price = Monetary(
        "Full Unit Price", digits=price_digits, currency='currency',
        readonly=True, states={'invisible': ~Eval('subsidy_base_price')},
        help="The unit price before the subsidies lowered it.")
    subsidy_lines = fields.One2Many(
        'relief.subsidy.line', 'sale_line', "Subsidies", readonly=True)

    @property
    def subsidized_quantity(self):
        """The quantity the subsidies pay for: the actual quantity, but
        never more than was ordered"""
        if self.actual_quantity is None:
            return self.quantity
        return math.copysign(
            min(abs(self.actual_quantity), abs(self.quantity)),
            self.quantity)

    @classmethod
    def set_subsidy_prices(cls, prices):
        """Store [(line, unit price, full unit price)] in one UPDATE: the
        prices are computed by the programmes, nothing to validate"""
        if not prices:
            return
        table = cls.__table__()
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        for sub_prices in grouped_slice(prices, MAX_QUERY_PARAMS // 6):
            sub_prices = list(sub_prices)
            cursor.execute(*table.update(
                    [table.unit_price, table.subsidy_base_price,
                        table.write_uid, table.write_date],
                    [Case(*((table.id == l.id, p) for l, p, _ in sub_prices)),
                        Case(*((table.id == l.id, b)
                                for l, _, b in sub_prices)),
                        transaction.user, CurrentTimestamp()],
                    where=table.id.in_([l.id for l, _, _ in sub_prices])))

    def _subsidy_line(self, program, unit):
        "Return the subsidy line of program at unit amount"
        SubsidyLine = Pool().get('relief.subsidy.line')
        return SubsidyLine(
            sale=self.sale, sale_line=self, program=program,
            member=self.sale.party, quantity=self.quantity,
            unit_amount=unit,
            amount=self.sale.currency.round(
                unit * Decimal(str(self.quantity))),
            state='quotation')

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        # A copy (a return too) starts from the full price: quoting it
        # applies the subsidies again (a return: those of its origin).
        default.setdefault('unit_price', lambda data: (
                data['subsidy_base_price']
                if data.get('subsidy_base_price') is not None
                else data['unit_price']))
        default.setdefault('subsidy_base_price')
        default.setdefault('subsidy_lines')
        return super().copy(lines, default=default)


class SubsidyLine(ExportRulesMixin, ModelSQL, ModelView):
    "Subsidy Line"
    __name__ = 'relief.subsidy.line'
    __string__ = "Subsidy Line"
    _company = {'company': Eval('_parent_sale', {}).get('company', -1)}

    sale = fields.Many2One(
        'sale.sale', "Sale", required=True, readonly=True,
        ondelete='CASCADE')
    sale_line = fields.Many2One(
        'sale.line', "Sale Line", required=True, readonly=True,
        ondelete='CASCADE')
    program = fields.Many2One(
        'relief.subsidy.program', "Programme", required=True, readonly=True,
        ondelete='RESTRICT')
    # With its programme: hidden from who may not read programmes
    payer = fields.Function(fields.Many2One(
            'party.party', "Payer",
            context=_company, depends=['program']),
        'get_payer', searcher='search_payer')
    member = fields.Many2One(
        'party.party', "Customer", required=True, readonly=True,
        ondelete='RESTRICT',
        context=_company)
    product = fields.Function(fields.Many2One(
            'product.product', "Product", context=_company), 'get_product')
    date = fields.Date("Date", readonly=True,
        help="The sale date, set when the sale is confirmed.")
    quantity = fields.Float("Quantity", required=True, readonly=True)
    unit_amount = fields.Numeric(
        "Amount per Unit", digits=(16, 2), required=True, readonly=True)
    amount = fields.Numeric(
        "Amount", digits=(16, 2), required=True, readonly=True)
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'get_currency')
    reversal_of = fields.Many2One(
        'relief.subsidy.line', "Reversal of", readonly=True,
        ondelete='RESTRICT',
        help="The subsidy this line reverses (the sale went back to draft) "
        "or corrects (goods cancelled after the sale was processed).")
    claim_lines = fields.One2Many(
        'relief.subsidy.claim.line', 'subsidy_line', "Claim Lines",
        readonly=True)
    state = fields.Selection([
            ('quotation', "Quotation"),
            ('confirmed', "Confirmed"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False,
        help="Confirmed with the sale; cancelled when the sale went back "
        "to draft after the line was claimed (its reversal credits it).")

    del _company

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Who reads the sale reads its subsidies, by the sale's rules
        cls.__access__.add('sale')
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.sale, Index.Equality())),
                Index(t, (t.program, Index.Equality()),
                    (t.date, Index.Range()),
                    where=t.state.in_(['confirmed', 'cancelled'])),
                })
        cls._order = [('sale', 'DESC'), ('id', 'ASC')]

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        # Quoting, confirming, processing and putting the sale back to
        # draft make and change them (in SQL or inside their buttons); a
        # user's call never does, whatever the sale lets them write.
        if not external or not lines or (mode == 'write' and not values):
            return
        line = lines[0]
        if mode == 'create':
            raise SubsidyAccessError(gettext(
                    'relief_subsidy.msg_subsidy_line_create',
                    sale=line.sale.rec_name))
        elif mode == 'write':
            raise SubsidyAccessError(gettext(
                    'relief_subsidy.msg_subsidy_line_modify',
                    line=line.rec_name,
                    field=cls.__names__(sorted(values)[0])['field']))
        else:
            raise SubsidyAccessError(gettext(
                    'relief_subsidy.msg_subsidy_line_delete',
                    line=line.rec_name))

    def get_payer(self, name):
        return self.program.payer.id

    @classmethod
    def search_payer(cls, name, clause):
        return [('program.payer',) + tuple(clause[1:])]

    def get_product(self, name):
        return self.sale_line.product.id if self.sale_line.product else None

    @classmethod
    def product_join(cls, from_, line):
        """Join to from_ (which holds the subsidy lines' table line) what
        gives their product; return the join and the product column"""
        SaleLine = Pool().get('sale.line')
        sale_line = SaleLine.__table__()
        return (from_.join(sale_line, 'LEFT',
                condition=line.sale_line == sale_line.id),
            sale_line.product)

    def get_currency(self, name):
        return self.sale.currency.id

    def get_rec_name(self, name):
        return '%s - %s' % (self.sale.rec_name, self.program.rec_name)

    @classmethod
    def _insert_fields(cls):
        "The fields that insert stores of each line"
        return ['sale', 'sale_line', 'program', 'member', 'quantity',
            'unit_amount', 'amount', 'state']

    @classmethod
    def insert(cls, lines):
        """Store the lines computed when quoting in one INSERT: their
        values come from the programmes, nothing to validate"""
        if not lines:
            return
        table = cls.__table__()
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        names = cls._insert_fields()

        def value(line, name):
            value = getattr(line, name, None)
            return value.id if isinstance(value, Model) else value
        cursor.execute(*table.insert(
                [Column(table, n) for n in names]
                + [table.create_uid, table.create_date],
                [[value(l, n) for n in names]
                    + [transaction.user, CurrentTimestamp()]
                    for l in lines]))

    @classmethod
    def confirm_sales(cls, sales):
        """Mark the quoted lines of the sales confirmed, dated as their sale;
        return them as records for Program.consume"""
        by_date = defaultdict(list)
        for sale in sales:
            by_date[sale.sale_date].append(sale.id)
        return cls.confirm('sale', by_date)

    @classmethod
    def confirm(cls, field, by_date):
        """Mark the quoted lines whose field (the sale, the counter sale) is
        in by_date's lists confirmed, dated as the list's key, with an
        UPDATE per date; return them as (program, member, date, amount)
        records for Program.consume"""
        pool = Pool()
        Program = pool.get('relief.subsidy.program')
        Party = pool.get('party.party')
        table = cls.__table__()
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        rows = []
        for date, ids in by_date.items():
            where = (Column(table, field).in_(ids)
                & (table.state == 'quotation'))
            columns = [table.program, table.member, table.amount]
            if not transaction.database.has_returning():
                cursor.execute(*table.select(*columns, where=where))
                rows += [(*r, date) for r in cursor]
            query = table.update(
                [table.state, table.date, table.write_uid,
                    table.write_date],
                ['confirmed', date, transaction.user, CurrentTimestamp()],
                where=where)
            if transaction.database.has_returning():
                query.returning = columns
                cursor.execute(*query)
                rows += [(*r, date) for r in cursor]
            else:
                cursor.execute(*query)
        programs = {p: Program(p) for p in {r[0] for r in rows}}
        members = {m: Party(m) for m in {r[1] for r in rows}}
        return [SimpleNamespace(
                program=programs[p], member=members[m], date=d,
                amount=Decimal(str(a)))
            for p, m, a, d in rows]

    @classmethod
    def claimed(cls, lines):
        "Return the set of lines that a claim holds"
        ClaimLine = Pool().get('relief.subsidy.claim.line')
        if not lines:
            return set()
        # The sellers who put a sale back to draft need not see claims
        with without_check_access():
            return {c.subsidy_line for c in ClaimLine.search([
                        ('subsidy_line', 'in', [l.id for l in lines]),
                        ])}

    @classmethod
    def follow_actual_quantities(cls, sales):
        """Bring the confirmed subsidies of each line of the sales to its
        subsidized quantity with a correcting line per programme, and give
        back (or consume) the difference.  The correction is claimed like
        any line: goods cancelled after their subsidies were claimed are
        credited to the payer in the next claim."""
        Program = Pool().get('relief.subsidy.program')
        if not sales:
            return
        # By sale: its index serves each processing of a sale
        lines = cls.search([
                ('sale', 'in', [s.id for s in sales]),
                ('state', '=', 'confirmed'),
                ], order=[('id', 'ASC')])
        groups = defaultdict(list)
        for line in lines:
            original = line.reversal_of or line
            # The reversal of a sale put back to draft is settled already
            if original.state == 'confirmed':
                groups[original].append(line)
        corrections = []
        for original, group in groups.items():
            sale_line = original.sale_line
            quantity = sale_line.subsidized_quantity
            difference = quantity - sum(l.quantity for l in group)
            if sale_line.unit:
                difference = sale_line.unit.round(difference)
            if not difference:
                continue
            amount = original.sale.currency.round(
                original.unit_amount * Decimal(str(quantity)))
            corrections.append(cls(
                    sale=original.sale, sale_line=sale_line,
                    program=original.program, member=original.member,
                    date=original.date, quantity=difference,
                    unit_amount=original.unit_amount,
                    amount=amount - sum(l.amount for l in group),
                    reversal_of=original, state='confirmed'))
        with without_check_access():  # the workflow's, not the user's
            cls.save(corrections)
        Program.consume(corrections)

    @classmethod
    def reverse(cls, lines):
        "Cancel claimed lines with a negative line to claim next"
        if not lines:
            return
        reversals = [cls(
                sale=l.sale, sale_line=l.sale_line, program=l.program,
                member=l.member, date=l.date, quantity=-l.quantity,
                unit_amount=l.unit_amount, amount=-l.amount,
                reversal_of=l, state='confirmed') for l in lines]
        with without_check_access():  # the workflow's, not the user's
            cls.save(reversals)
            cls.write(lines, {'state': 'cancelled'})
