# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import Cast, Literal, Union

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, Workflow, fields
from trytond.modules.relief.totals import add_amounts, lock_rows
from trytond.modules.relief_union.party import LEVELS
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from .exceptions import BudgetError, ProgramError, SubsidyAccessError

# The figures of a programme that cannot be negative
FIGURES = ['budget', 'unit_amount', 'member_price', 'floor_price',
    'member_limit']


class Program(Workflow, ModelSQL, ModelView):
    "Subsidy Programme"
    __name__ = 'relief.subsidy.program'
    __string__ = "Subsidy Programme"
    _states = {'readonly': Eval('state') != 'draft'}

    name = fields.Char("Name", required=True)
    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')
    payer = fields.Many2One(
        'party.party', "Payer",
        states={
            'readonly': Eval('state') != 'draft',
            'required': True,
            },
        context={'company': Eval('company', -1)}, depends=['company'],
        help="Who pays the subsidy: the federation's special fund, a bank…")
    account = fields.Many2One(
        'account.account', "Subsidy Receivable Account",
        domain=[
            ('company', '=', Eval('company', -1)),
            ('relief_subsidy', '=', True),
            ],
        states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('state') == 'running',
            },
        help="Where the payer's share waits until it is claimed.")
    budget = fields.Numeric(
        "Budget", digits=(16, 2), required=True,
        states={'readonly': Eval('state') == 'closed'})
    consumed = fields.Numeric(
        "Consumed", digits=(16, 2), readonly=True,
        help="The subsidies of the confirmed sales.")
    remaining = fields.Function(fields.Numeric(
            "Remaining", digits=(16, 2)), 'get_remaining')
    valid_from = fields.Date("Valid From", required=True, states=_states,
        domain=[If(Eval('valid_to'),
                ('valid_from', '<=', Eval('valid_to')), ())])
    valid_to = fields.Date("Valid To", required=True, states=_states,
        domain=[If(Eval('valid_from'),
                ('valid_to', '>=', Eval('valid_from')), ())])

    customers = fields.Selection([
            ('members', "Members (B2C)"),
            ('unions', "Unions (B2B)"),
            ('both', "Members and Unions"),
            ], "Customers", required=True, states=_states, sort=False)
    unions = fields.Many2Many(
        'relief.subsidy.program-party.party', 'program', 'union', "Unions",
        domain=[('union_level', '!=', None)], states=_states,
        context={'company': Eval('company', -1)}, depends=['company'],
        help="Only these unions and the unions below them (their members "
        "when members buy); all unions when empty.")
    union_levels = fields.MultiSelection(
        [l for l in LEVELS if l[0]], "Union Levels", states=_states,
        help="Only unions of these levels (the member's union when members "
        "buy); all levels when empty.")
    products = fields.Many2Many(
        'relief.subsidy.program-product.product', 'program', 'product',
        "Products", states=_states,
        context={'company': Eval('company', -1)}, depends=['company'])
    categories = fields.Many2Many(
        'relief.subsidy.program-product.category', 'program', 'category',
        "Categories", states=_states,
        context={'company': Eval('company', -1)}, depends=['company'],
        help="With the products: the whole catalogue when both are empty.")

    coupon = fields.Many2One(
        'sale.promotion.coupon', "Coupon", states=_states,
        help="The programme applies only to sales quoted with the code of "
        "a number of this coupon (a coupon campaign).")

    rule = fields.Selection([
            ('percentage', "Percentage of the Price"),
            ('fixed', "Fixed Amount per Unit"),
            ('member_price', "Member Price"),
            ], "Rule", required=True, states=_states, sort=False)
    percentage = fields.Numeric(
        "Percentage", digits=(16, 2),
        states={
            'invisible': Eval('rule') != 'percentage',
            'required': Eval('rule') == 'percentage',
            'readonly': Eval('state') != 'draft',
            })
    unit_amount = fields.Numeric(
        "Amount per Unit", digits=(16, 2),
        states={
            'invisible': Eval('rule') != 'fixed',
            'required': Eval('rule') == 'fixed',
            'readonly': Eval('state') != 'draft',
            })
    member_price = fields.Numeric(
        "Member Price", digits=(16, 2),
        states={
            'invisible': Eval('rule') != 'member_price',
            'required': Eval('rule') == 'member_price',
            'readonly': Eval('state') != 'draft',
            })
    floor_price = fields.Numeric(
        "Floor Price", digits=(16, 2), required=True, states=_states,
        help="The customer's unit price never goes below it.")
    member_limit = fields.Numeric(
        "Limit per Member", digits=(16, 2), states=_states,
        help="The most one customer receives from the programme per period; "
        "no limit when empty.")
    limit_period = fields.Selection([
            ('month', "Month"),
            ('year', "Year"),
            ], "Limit Period", required=True, states=_states, sort=False)
    priority = fields.Integer(
        "Priority", required=True, states=_states,
        help="Programmes apply in increasing priority, each on the price "
        "left by the ones before.")
    claim_grouping = fields.Selection([
            ('product', "One Line per Product"),
            ('sale', "One Line per Sale"),
            ], "Claim Lines", required=True, sort=False,
        help="How the claim invoice to the payer is detailed.")
    state = fields.Selection([
            ('draft', "Draft"),
            ('running', "Running"),
            ('closed', "Closed"),
            ], "State", readonly=True, required=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.state, Index.Equality()),
                (t.valid_from, Index.Range())))
        cls._order = [('priority', 'ASC'), ('id', 'ASC')]
        cls._transitions |= {
            ('draft', 'running'),
            ('running', 'closed'),
            ('running', 'draft'),
            ('closed', 'running'),
            }
        cls._buttons.update({
                'draft': {
                    'invisible': Eval('state') != 'running',
                    'depends': ['state'],
                    },
                'run': {
                    'invisible': ~Eval('state').in_(['draft', 'closed']),
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'close': {
                    'invisible': Eval('state') != 'running',
                    'icon': 'tryton-close',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_customers(cls):
        return 'members'

    @classmethod
    def default_rule(cls):
        return 'percentage'

    @classmethod
    def default_floor_price(cls):
        return Decimal(0)

    @classmethod
    def default_consumed(cls):
        return Decimal(0)

    @classmethod
    def default_limit_period(cls):
        return 'year'

    @classmethod
    def default_priority(cls):
        return 10

    @classmethod
    def default_claim_grouping(cls):
        return 'product'

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    @classmethod
    def get_remaining(cls, programs, name):
        return {p.id: (p.budget or 0) - (p.consumed or 0) for p in programs}

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, programs):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('running')
    def run(cls, programs):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('closed')
    def close(cls, programs):
        pass

    @classmethod
    def copy(cls, programs, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('state', 'draft')
        default.setdefault('consumed', Decimal(0))
        return super().copy(programs, default=default)

    @classmethod
    def check_modification(cls, mode, programs, values=None, external=False):
        super().check_modification(
            mode, programs, values=values, external=external)
        if not external:
            return
        # The buttons move the state and confirming sales the running total
        # (in SQL); a user's call does neither.
        if mode == 'create':
            for program in programs:
                if program.state != 'draft':
                    cls._refuse_change(program, 'state')
                if program.consumed:
                    cls._refuse_change(program, 'consumed')
        elif mode == 'write':
            changed = sorted(values.keys() & {'state', 'consumed'})
            if changed:
                cls._refuse_change(programs[0], changed[0])

    @classmethod
    def _refuse_change(cls, program, name):
        message = {
            'state': 'relief_subsidy.msg_program_state',
            'consumed': 'relief_subsidy.msg_program_consumed',
            }[name]
        raise SubsidyAccessError(gettext(message,
                program=program.rec_name,
                field=cls.__names__(name)['field']))

    @classmethod
    def validate_fields(cls, programs, field_names):
        super().validate_fields(programs, field_names)
        cls.check_figures(programs, field_names)
        cls.check_floor(programs, field_names)

    def _money(self, value):
        Lang = Pool().get('ir.lang')
        return Lang.get().currency(value, self.currency, grouping=True)

    @classmethod
    def check_figures(cls, programs, field_names=None):
        "Refuse negative figures and percentages outside 0–100"
        names = [f for f in FIGURES if not field_names or f in field_names]
        for program in programs:
            for name in names:
                value = getattr(program, name)
                if value is not None and value < 0:
                    raise ProgramError(gettext(
                            'relief_subsidy.msg_program_negative',
                            program=program.rec_name,
                            field=cls.__names__(name)['field'],
                            value=program._money(value)))
            if (program.percentage is not None
                    and not 0 <= program.percentage <= 100):
                raise ProgramError(gettext(
                        'relief_subsidy.msg_program_percentage',
                        program=program.rec_name,
                        field=cls.__names__('percentage')['field'],
                        value=program.percentage))

    @classmethod
    def check_floor(cls, programs, field_names=None):
        "Refuse a floor above the member price or a product's price"
        if field_names and not (field_names & {
                    'floor_price', 'member_price', 'rule', 'products'}):
            return
        for program in programs:
            floor = program.floor_price or 0
            if not floor:
                continue
            if (program.rule == 'member_price'
                    and program.member_price is not None
                    and floor > program.member_price):
                raise ProgramError(gettext(
                        'relief_subsidy.msg_program_floor_member_price',
                        program=program.rec_name,
                        field=cls.__names__('floor_price')['field'],
                        floor=program._money(floor),
                        price=program._money(program.member_price)))
            for product in program.products:
                price = product.list_price_used
                if price is not None and floor > price:
                    raise ProgramError(gettext(
                            'relief_subsidy.msg_program_floor_product',
                            program=program.rec_name,
                            field=cls.__names__('floor_price')['field'],
                            floor=program._money(floor),
                            product=product.rec_name,
                            price=program._money(price)))

    def period_start(self, date):
        "The first day of the member limit's period holding date"
        if self.limit_period == 'month':
            return date.replace(day=1)
        return date.replace(month=1, day=1)

    def unit_subsidy(self, base_price, price):
        """Return the subsidy per unit at price (what the programmes of
        lower priority left of base_price): never below the floor"""
        if self.rule == 'percentage':
            amount = base_price * (self.percentage or 0) / 100
        elif self.rule == 'fixed':
            amount = self.unit_amount or 0
        else:
            amount = price - (self.member_price or 0)
        amount = min(amount, price - (self.floor_price or 0))
        amount = self.currency.round(amount)
        return amount if amount > 0 else Decimal(0)

    @classmethod
    def get_applicable(cls, company, date):
        "Return the running programmes of company on date, by priority"
        return cls.search([
                ('company', '=', company.id),
                ('state', '=', 'running'),
                ('valid_from', '<=', date),
                ('valid_to', '>=', date),
                ], order=[('priority', 'ASC'), ('id', 'ASC')])

    def eligibility(self):
        """Return the sets of eligible product and category ids and the
        union tree's intervals (union_left, union_right) of the eligible
        unions' subtrees (None when any is)"""
        pool = Pool()
        Category = pool.get('product.category')
        Party = pool.get('party.party')
        # The three relations in one query (each Many2Many read would be
        # two): every member's sale asks it of each running programme
        product = pool.get('relief.subsidy.program-product.product'
            ).__table__()
        category = pool.get('relief.subsidy.program-product.category'
            ).__table__()
        union = pool.get('relief.subsidy.program-party.party').__table__()
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        # Typed: PostgreSQL types a UNION's columns from its first query

        def kind(name):
            return Cast(Literal(name), 'VARCHAR')
        cursor.execute(*Union(
                product.select(kind('product'), product.product,
                    product.product, where=product.program == self.id),
                category.select(kind('category'), category.category,
                    category.category, where=category.program == self.id),
                union.join(party, condition=union.union == party.id).select(
                    kind('union'), party.union_left, party.union_right,
                    where=union.program == self.id),
                all_=True))
        relations = defaultdict(list)
        for relation, value, right in cursor:
            relations[relation].append(
                (value, right) if relation == 'union' else value)
        products = set(relations['product']) or None
        categories = None
        if relations['category']:
            categories = {c.id for c in Category.search([
                        ('parent', 'child_of', relations['category']),
                        ])}
        # The nested set: a test per buyer, not the subtree's ids (tens of
        # thousands of unions under the province)
        unions = relations['union'] or None
        return products, categories, unions

    def is_eligible(self, eligibility, customer, product, number=None):
        """Tell whether the programme subsidises product sold to customer
        with the coupon number"""
        products, categories, unions = eligibility
        if self.coupon and (not number or number.coupon != self.coupon):
            return False
        if customer.union_level:
            if self.customers == 'members':
                return False
            union = customer
        elif customer.member_union:
            if self.customers == 'unions':
                return False
            union = customer.member_union
        else:
            return False
        if unions is not None and not any(
                left <= (union.union_left or 0) <= right
                for left, right in unions):
            return False
        if self.union_levels and union.union_level not in self.union_levels:
            return False
        if products is None and categories is None:
            return True
        if products and product.id in products:
            return True
        if categories and {c.id for c in product.categories_all} & categories:
            return True
        return False

    @classmethod
    def consume(cls, lines, sign=1):
        """Add (sign=-1: remove) subsidy lines to the running totals and
        refuse, when adding, totals beyond a budget or a member's limit.

        The programmes' rows are locked first (lock_rows): of two
        transactions that confirm sales of one programme at the same time,
        the second waits for the first to end and is run again, this time
        seeing what the first consumed; the programme's lock also covers
        its members' totals."""
        pool = Pool()
        Consumption = pool.get('relief.subsidy.consumption')
        by_program = defaultdict(Decimal)
        by_member = defaultdict(Decimal)
        for line in lines:
            by_program[line.program] += sign * line.amount
            if line.program.member_limit is not None:
                by_member[line.program, line.member,
                    line.program.period_start(line.date)] += (
                    sign * line.amount)
        if not by_program:
            return
        table = cls.__table__()
        lock_rows(table, table.id.in_(sorted(p.id for p in by_program)),
            ', '.join(sorted(p.rec_name for p in by_program)))
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        consumed = {}
        # In the order of the ids: two transactions never wait on each other
        for program in sorted(by_program, key=lambda p: p.id):
            query = table.update(
                [table.consumed], [table.consumed + by_program[program]],
                where=table.id == program.id)
            if transaction.database.has_returning():
                query.returning = [table.consumed]
                cursor.execute(*query)
                consumed[program], = cursor.fetchone()
            else:
                cursor.execute(*query)
                cursor.execute(*table.select(
                        table.consumed, where=table.id == program.id))
                consumed[program], = cursor.fetchone()
        members = Consumption.add(by_member)
        if sign < 0:
            return
        for program, amount in by_program.items():
            total = Decimal(str(consumed[program]))
            if amount > 0 and total > program.budget:
                raise BudgetError(gettext(
                        'relief_subsidy.msg_budget_exceeded',
                        program=program.rec_name,
                        budget=program._money(program.budget),
                        consumed=program._money(total - amount),
                        amount=program._money(amount),
                        remaining=program._money(
                            max(program.budget - total + amount, 0))))
        for (program, member, start), amount in by_member.items():
            total = members[program.id, member.id, start]
            if amount > 0 and total > program.member_limit:
                Lang = pool.get('ir.lang')
                raise BudgetError(gettext(
                        'relief_subsidy.msg_member_limit_exceeded',
                        program=program.rec_name,
                        member=member.rec_name,
                        start=Lang.get().strftime(start),
                        limit=program._money(program.member_limit),
                        consumed=program._money(total - amount),
                        amount=program._money(amount),
                        remaining=program._money(
                            max(program.member_limit - total + amount, 0))))


class _ProgramRelation:
    "Who may change a programme may change what it subsidises"
    __slots__ = ()
    program = fields.Many2One(
        'relief.subsidy.program', "Programme", required=True,
        ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('program')


class ProgramUnion(_ProgramRelation, ModelSQL):
    "Subsidy Programme - Union"
    __name__ = 'relief.subsidy.program-party.party'
    union = fields.Many2One(
        'party.party', "Union", required=True, ondelete='CASCADE')


class ProgramProduct(_ProgramRelation, ModelSQL):
    "Subsidy Programme - Product"
    __name__ = 'relief.subsidy.program-product.product'
    product = fields.Many2One(
        'product.product', "Product", required=True, ondelete='CASCADE')


class ProgramCategory(_ProgramRelation, ModelSQL):
    "Subsidy Programme - Category"
    __name__ = 'relief.subsidy.program-product.category'
    category = fields.Many2One(
        'product.category', "Category", required=True, ondelete='CASCADE')


class Consumption(ModelSQL):
    """Subsidy Consumption per Member

    What each customer received from a programme per limit period: the
    running total that the member limit reads.  Written by Program.consume
    (serialized per programme)."""
    __name__ = 'relief.subsidy.consumption'
    __string__ = "Subsidy Consumption per Member"

    program = fields.Many2One(
        'relief.subsidy.program', "Programme", required=True,
        ondelete='CASCADE')
    member = fields.Many2One(
        'party.party', "Member", required=True, ondelete='CASCADE')
    period = fields.Date("Period", required=True)
    amount = fields.Numeric("Amount", digits=(16, 2), required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('program_member_period_unique',
                Unique(t, t.program, t.member, t.period),
                'relief_subsidy.msg_consumption_unique'),
            ]

    @classmethod
    def add(cls, amounts):
        """Add amounts {(program, member, period): amount}; return the new
        totals by (program id, member id, period)"""
        if not amounts:
            return {}
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        keys = sorted(((p.id, m.id, d), a) for (p, m, d), a in amounts.items())
        # In a fixed order: two confirmations lock the rows alike
        add_amounts(table, ['program', 'member', 'period'],
            [[p, m, d, a] for (p, m, d), a in keys])
        where = Literal(False)
        for (p, m, d), _ in keys:
            where |= ((table.program == p) & (table.member == m)
                & (table.period == d))
        cursor.execute(*table.select(
                table.program, table.member, table.period, table.amount,
                where=where))
        result = {}
        for p, m, d, a in cursor:
            if isinstance(d, str):
                d = dt.date.fromisoformat(d)
            result[p, m, d] = Decimal(str(a))
        return result
