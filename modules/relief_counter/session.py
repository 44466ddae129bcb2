# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The day's settlement of a counter (日结): its cash session and what the
counter sold that day.

A cash session settles one counter and one business day (its date): the
counter's sales done or posted that day, whatever they were paid with (only
cash payments belong to sale_point's sessions).  The figures are SQL views
(table_query) grouped by counter and day, so that the settlement of a
thousand counters is one query per figure, not one per counter or sale.

The host's fee is computed, not booked: it is the point's host_fee_rate of
the day's sales (subsidies included, as the host charges on what its site
sells), shown per counter and day; the hosts charge it by the month under
their contract, so the accountant enters the host's supplier invoice from
the month's settlements (searched by host and summed), and the fee is
booked once, by that invoice, not by each day's session."""
from collections import defaultdict
from decimal import Decimal

from sql import Cast, Literal
from sql.aggregate import Count, Max, Min, Sum
from sql.conditionals import Coalesce
from sql.functions import Round

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.relief.document import DocumentReport
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from .exceptions import CashCountError

# The sales a settlement counts: processed (done) or posted
SETTLED = ['done', 'posted']
# The subsidies of a settled sale: confirmed when it was done (its account
# move books these to the payers)
SUBSIDY_STATES = ['confirmed']


def _numeric(column):
    "A Numeric column as a number (SQLite stores Decimal as text)"
    if backend.name == 'sqlite':
        return Cast(column, 'NUMERIC')
    return column


def _gross_amount(line, currency):
    "The SQL amount of a POS sale line, rounded as POSSaleLine.gross_amount"
    return Round(
        Cast(line.quantity, 'NUMERIC') * _numeric(line.unit_gross_price),
        currency.digits)


# The rows of a record's day: the settlement's SQL reads that day only
_DAY = {
    'settlement_from_date': Eval('date'),
    'settlement_to_date': Eval('date'),
    }


class CashSession(metaclass=PoolMeta):
    __name__ = 'sale.point.cash.session'

    date = fields.Date(
        "Day", required=True,
        states={
            'readonly': Eval('state') != 'open',
            },
        help="The business day the session settles: the counter's sales "
        "of that day.")
    expected_amount = fields.Function(Monetary(
            "Expected Cash", currency='currency', digits='currency',
            help="The start amount and the session's cash payments and "
            "transfers: what the counted cash must be to close."),
        'get_expected_amount')
    sale_count = fields.Function(
        fields.Integer("Sales"), 'get_settlement')
    sale_total = fields.Function(Monetary(
            "Sales Total", currency='currency', digits='currency'),
        'get_settlement')
    paid_total = fields.Function(Monetary(
            "Paid", currency='currency', digits='currency'),
        'get_settlement')
    subsidy_total = fields.Function(Monetary(
            "Subsidies", currency='currency', digits='currency'),
        'get_settlement')
    host_fee = fields.Function(Monetary(
            "Host Fee", currency='currency', digits='currency'),
        'get_settlement')
    settlement_payments = fields.Function(fields.Many2Many(
            'relief.counter.settlement.payment', None, None,
            "Payments by Method", readonly=True,
            context=_DAY, depends=['date']), 'get_settlement_lines')
    settlement_subsidies = fields.Function(fields.Many2Many(
            'relief.counter.settlement.subsidy', None, None,
            "Subsidies by Payer", readonly=True,
            context=_DAY, depends=['date']), 'get_settlement_lines')
    settlement_products = fields.Function(fields.Many2Many(
            'relief.counter.settlement.product', None, None,
            "Goods Sold", readonly=True,
            context=_DAY, depends=['date']), 'get_settlement_lines')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.point, Index.Equality()), (t.date, Index.Range())))
        cls._order.insert(0, ('date', 'DESC'))

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def get_expected_amount(cls, sessions, name):
        balances = cls.get_balance(sessions, 'balance')
        return {s.id: s.start_amount + balances[s.id] for s in sessions}

    @classmethod
    def get_settlement(cls, sessions, names):
        "The day's figures of the sessions' counters, in one query"
        Settlement = Pool().get('relief.counter.settlement')
        with _days(sessions):
            by_key = {(s.point.id, s.date): s
                for s in Settlement.search(
                    _key_domain(sessions), order=[])}
        result = {name: {} for name in names}
        for session in sessions:
            settlement = by_key.get((session.point.id, session.date))
            for name in names:
                if settlement:
                    value = getattr(settlement, name)
                else:
                    value = 0 if name == 'sale_count' else Decimal(0)
                result[name][session.id] = value
        return result

    @classmethod
    def get_settlement_lines(cls, sessions, names):
        return _day_rows(cls, sessions, names)

    @classmethod
    @ModelView.button
    @Workflow.transition('closed')
    def close(cls, sessions):
        cls.check_counted_cash(sessions)
        super().close(sessions)

    @classmethod
    def check_counted_cash(cls, sessions):
        "Refuse to close a session whose counted cash is not the expected"
        Lang = Pool().get('ir.lang')
        expected = cls.get_expected_amount(sessions, 'expected_amount')
        for session in sessions:
            counted = session.end_amount or Decimal(0)
            if counted != expected[session.id]:
                lang = Lang.get()
                raise CashCountError(gettext(
                        'relief_counter.msg_session_cash_count',
                        counter=session.point.rec_name,
                        date=lang.strftime(session.date),
                        counted=lang.currency(counted, session.currency),
                        expected=lang.currency(
                            expected[session.id], session.currency),
                        difference=lang.currency(
                            counted - expected[session.id],
                            session.currency)))


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.point.sale'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # The settlement groups the sales of a day by counter
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.date, Index.Range()), (t.point, Index.Equality())))


def _days(records):
    "The context that limits the settlement's SQL to the records' days"
    dates = [r.date for r in records]
    return Transaction().set_context(
        settlement_from_date=min(dates, default=None),
        settlement_to_date=max(dates, default=None))


def _day_rows(Model, records, names):
    """The ids of the rows of the records' counters and days for the
    One2Many fields names of Model, one query a field"""
    pool = Pool()
    result = {}
    for name in names:
        Target = Model._fields[name].get_target()
        by_key = defaultdict(list)
        with _days(records):
            rows = Target.search(_key_domain(records))
        for row in rows:
            by_key[(row.point.id, row.date)].append(row.id)
        result[name] = {r.id: by_key[(r.point.id, r.date)]
            for r in records}
    return result


def _key_domain(records):
    "The domain of the settlement rows of the records' counters and days"
    return [
        ('point', 'in', list({r.point.id for r in records})),
        ('date', 'in', list({r.date for r in records})),
        ]


class _SettlementMixin:
    "A settlement row per counter and day: the counter's company rules it"
    __slots__ = ()

    company = fields.Many2One('company.company', "Company", readonly=True)
    point = fields.Many2One('sale.point', "Counter", readonly=True)
    date = fields.Date("Day", readonly=True)
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'get_currency')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('point', 'ASC'), ('id', 'ASC')]

    def get_currency(self, name):
        return self.company.currency.id

    @classmethod
    def read(cls, ids, fields_names):
        # Rows read by id (a list, the bench) without the context's days
        # take the days of their ids: else the GROUP BY would run over
        # every day's sales, the id filter coming after it
        context = Transaction().context
        if ids and not (context.get('settlement_from_date')
                or context.get('settlement_to_date')):
            first, last = cls._days_of(ids)
            with Transaction().set_context(
                    settlement_from_date=first, settlement_to_date=last):
                return super().read(ids, fields_names)
        return super().read(ids, fields_names)

    @classmethod
    def _days_of(cls, ids):
        "The first and last day of the rows of ids"
        Sale = Pool().get('sale.point.sale')
        table, sale_column = cls._id_table()
        if sale_column is None:
            sale = from_item = table
        else:
            sale = Sale.__table__()
            from_item = table.join(sale, condition=sale.id == sale_column)
        cursor = Transaction().connection.cursor()
        cursor.execute(*from_item.select(
                Min(sale.date), Max(sale.date),
                where=fields.SQL_OPERATORS['in'](table.id, ids)))
        return cursor.fetchone()

    @classmethod
    def _id_table(cls):
        """The table whose id is the rows' id (the smallest of their
        group) and its column of the sale (None: the table of the sales)"""
        raise NotImplementedError

    @classmethod
    def _sales(cls):
        "The settled sales and the tables: sale, company and its currency"
        pool = Pool()
        Sale = pool.get('sale.point.sale')
        Company = pool.get('company.company')
        Currency = pool.get('currency.currency')
        sale = Sale.__table__()
        company = Company.__table__()
        currency = Currency.__table__()
        from_item = (sale
            .join(company, condition=company.id == sale.company)
            .join(currency, condition=currency.id == company.currency))
        # As sale_reporting: the context's dates filter inside the GROUP
        # BY, where reading rows by id could not
        context = Transaction().context
        where = sale.state.in_(SETTLED)
        if context.get('settlement_from_date'):
            where &= sale.date >= context['settlement_from_date']
        if context.get('settlement_to_date'):
            where &= sale.date <= context['settlement_to_date']
        return from_item, sale, currency, where


class Settlement(_SettlementMixin, ModelSQL, ModelView):
    "Counter Settlement"
    __name__ = 'relief.counter.settlement'

    host = fields.Many2One('party.party', "Host", readonly=True,
        context={'company': Eval('company', -1)}, depends={'company'})
    sale_count = fields.Integer("Sales", readonly=True)
    sale_total = Monetary(
        "Sales Total", currency='currency', digits='currency', readonly=True)
    paid_total = Monetary(
        "Paid", currency='currency', digits='currency', readonly=True,
        help="What the customers paid, by any method.")
    subsidy_total = Monetary(
        "Subsidies", currency='currency', digits='currency', readonly=True,
        help="What the programmes' payers owe for the day's sales.")
    host_fee_rate = fields.Numeric(
        "Host Fee Rate", digits=(16, 4), readonly=True)
    host_fee = fields.Function(Monetary(
            "Host Fee", currency='currency', digits='currency',
            help="The host's fee rate of the sales total: reported here, "
            "invoiced by the host for the month."),
        'get_host_fee')
    payments = fields.Function(fields.Many2Many(
            'relief.counter.settlement.payment', None, None,
            "Payments by Method", readonly=True,
            context=_DAY, depends=['date']), 'get_lines')
    subsidies = fields.Function(fields.Many2Many(
            'relief.counter.settlement.subsidy', None, None,
            "Subsidies by Payer", readonly=True,
            context=_DAY, depends=['date']), 'get_lines')
    products = fields.Function(fields.Many2Many(
            'relief.counter.settlement.product', None, None,
            "Goods Sold", readonly=True,
            context=_DAY, depends=['date']), 'get_lines')

    @classmethod
    def _id_table(cls):
        return Pool().get('sale.point.sale').__table__(), None

    @classmethod
    def table_query(cls):
        pool = Pool()
        Line = pool.get('sale.point.sale.line')
        Payment = pool.get('sale.point.payment')
        Point = pool.get('sale.point')
        SubsidyLine = pool.get('relief.subsidy.line')
        line = Line.__table__()
        payment = Payment.__table__()
        point = Point.__table__()
        subsidy = SubsidyLine.__table__()

        from_item, sale, currency, where = cls._sales()
        sales = (from_item
            .join(line, condition=line.sale == sale.id)
            .select(
                Min(sale.id).as_('id'),
                sale.point.as_('point'),
                sale.date.as_('date'),
                Count(sale.id, distinct=True).as_('sale_count'),
                Sum(_gross_amount(line, currency)).as_('sale_total'),
                where=where,
                group_by=[sale.point, sale.date]))

        from_item, sale, _, where = cls._sales()
        paid = (from_item
            .join(payment, condition=payment.sale == sale.id)
            .select(
                sale.point.as_('point'), sale.date.as_('date'),
                Sum(_numeric(payment.amount)).as_('amount'),
                where=where,
                group_by=[sale.point, sale.date]))

        from_item, sale, _, where = cls._sales()
        subsidies = (from_item
            .join(subsidy, condition=subsidy.point_sale == sale.id)
            .select(
                sale.point.as_('point'), sale.date.as_('date'),
                Sum(_numeric(subsidy.amount)).as_('amount'),
                where=where & subsidy.state.in_(SUBSIDY_STATES),
                group_by=[sale.point, sale.date]))

        def same_day(query):
            return ((query.point == sales.point)
                & (query.date == sales.date))
        zero = cls.sale_total.sql_cast(Literal(0))
        return (sales
            .join(point, condition=point.id == sales.point)
            .join(paid, 'LEFT', condition=same_day(paid))
            .join(subsidies, 'LEFT', condition=same_day(subsidies))
            .select(
                sales.id.as_('id'),
                point.company.as_('company'),
                sales.point.as_('point'),
                sales.date.as_('date'),
                point.host.as_('host'),
                sales.sale_count.as_('sale_count'),
                sales.sale_total.as_('sale_total'),
                Coalesce(paid.amount, zero).as_('paid_total'),
                Coalesce(subsidies.amount, zero).as_('subsidy_total'),
                point.host_fee_rate.as_('host_fee_rate'),
                ))

    def get_host_fee(self, name):
        # Rounded as Tryton rounds amounts (the currency's rounding)
        return self.currency.round(
            self.sale_total * (self.host_fee_rate or Decimal(0)))

    @classmethod
    def get_lines(cls, settlements, names):
        return _day_rows(cls, settlements, names)

    def get_rec_name(self, name):
        return '%s @ %s' % (self.point.rec_name, self.date)


class SettlementContext(ModelView):
    "Counter Settlement Context"
    __name__ = 'relief.counter.settlement.context'

    settlement_from_date = fields.Date("From Date",
        domain=[
            If(Eval('settlement_to_date') & Eval('settlement_from_date'),
                ('settlement_from_date', '<=', Eval('settlement_to_date')),
                ()),
            ])
    settlement_to_date = fields.Date("To Date",
        domain=[
            If(Eval('settlement_from_date') & Eval('settlement_to_date'),
                ('settlement_to_date', '>=', Eval('settlement_from_date')),
                ()),
            ])

    @classmethod
    def default_settlement_from_date(cls):
        return Transaction().context.get(
            'settlement_from_date', Pool().get('ir.date').today())

    @classmethod
    def default_settlement_to_date(cls):
        return Transaction().context.get(
            'settlement_to_date', Pool().get('ir.date').today())


class SettlementPayment(_SettlementMixin, ModelSQL, ModelView):
    "Counter Settlement Payments"
    __name__ = 'relief.counter.settlement.payment'

    method = fields.Many2One(
        'sale.point.payment.method', "Method", readonly=True)
    payment_count = fields.Integer("Payments", readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', readonly=True)

    @classmethod
    def _id_table(cls):
        payment = Pool().get('sale.point.payment').__table__()
        return payment, payment.sale

    @classmethod
    def table_query(cls):
        Payment = Pool().get('sale.point.payment')
        payment = Payment.__table__()
        from_item, sale, _, where = cls._sales()
        return (from_item
            .join(payment, condition=payment.sale == sale.id)
            .select(
                Min(payment.id).as_('id'),
                sale.company.as_('company'),
                sale.point.as_('point'),
                sale.date.as_('date'),
                payment.method.as_('method'),
                Count(payment.id).as_('payment_count'),
                Sum(_numeric(payment.amount)).as_('amount'),
                where=where,
                group_by=[
                    sale.company, sale.point, sale.date, payment.method]))


class SettlementSubsidy(_SettlementMixin, ModelSQL, ModelView):
    "Counter Settlement Subsidies"
    __name__ = 'relief.counter.settlement.subsidy'

    payer = fields.Many2One('party.party', "Payer", readonly=True,
        context={'company': Eval('company', -1)}, depends={'company'})
    sale_count = fields.Integer("Sales", readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', readonly=True)

    @classmethod
    def _id_table(cls):
        subsidy = Pool().get('relief.subsidy.line').__table__()
        return subsidy, subsidy.point_sale

    @classmethod
    def table_query(cls):
        pool = Pool()
        Program = pool.get('relief.subsidy.program')
        SubsidyLine = pool.get('relief.subsidy.line')
        program = Program.__table__()
        subsidy = SubsidyLine.__table__()
        from_item, sale, _, where = cls._sales()
        return (from_item
            .join(subsidy, condition=subsidy.point_sale == sale.id)
            .join(program, condition=program.id == subsidy.program)
            .select(
                Min(subsidy.id).as_('id'),
                sale.company.as_('company'),
                sale.point.as_('point'),
                sale.date.as_('date'),
                program.payer.as_('payer'),
                Count(sale.id, distinct=True).as_('sale_count'),
                Sum(_numeric(subsidy.amount)).as_('amount'),
                where=where & subsidy.state.in_(SUBSIDY_STATES),
                group_by=[
                    sale.company, sale.point, sale.date, program.payer]))


class SettlementProduct(_SettlementMixin, ModelSQL, ModelView):
    "Counter Settlement Goods"
    __name__ = 'relief.counter.settlement.product'

    product = fields.Many2One('product.product', "Product", readonly=True,
        context={'company': Eval('company', -1)}, depends={'company'})
    quantity = fields.Float("Quantity", readonly=True)
    amount = Monetary(
        "Amount", currency='currency', digits='currency', readonly=True)

    @classmethod
    def _id_table(cls):
        line = Pool().get('sale.point.sale.line').__table__()
        return line, line.sale

    @classmethod
    def table_query(cls):
        Line = Pool().get('sale.point.sale.line')
        line = Line.__table__()
        from_item, sale, currency, where = cls._sales()
        return (from_item
            .join(line, condition=line.sale == sale.id)
            .select(
                Min(line.id).as_('id'),
                sale.company.as_('company'),
                sale.point.as_('point'),
                sale.date.as_('date'),
                line.product.as_('product'),
                Sum(line.quantity).as_('quantity'),
                Sum(_gross_amount(line, currency)).as_('amount'),
                where=where,
                group_by=[
                    sale.company, sale.point, sale.date, line.product]))


class ZReport(DocumentReport):
    """The Z report (日结单) of a cash session: the day's sales, payments
    by method, subsidies by payer, goods sold, the host's fee and the cash
    counted against the expected"""
    __name__ = 'relief.counter.session.z'

