# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from collections import defaultdict
from decimal import Decimal

from sql import Cast, Literal, Null, Union
from sql.aggregate import Sum
from sql.conditionals import Coalesce
from sql.functions import DateTrunc, Function
from sql.operators import Exists, Neg

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.modules.relief.totals import add_amounts, lock_rows
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from .certification import HOLDING
from .exceptions import NotCertifiedError

# Purchases that consume a supplier's cap.
CONSUMING = ['confirmed', 'processing', 'done']


class _Strftime(Function):
    __slots__ = ()
    _function = 'STRFTIME'


class Consumption(ModelSQL):
    """Purchase Cap Consumption

    What was confirmed from a supplier, per month: the running total that
    the cap check reads, so that confirming costs the same whatever the
    supplier's history (a cap period is a year, a quarter or a month: a
    dozen rows at most).  Written by Purchase.confirm and draft, which
    serialize per supplier; rebuild() recomputes it on every update."""
    __name__ = 'relief.purchase.consumption'

    supplier = fields.Many2One(
        'party.party', "Supplier", required=True, ondelete='CASCADE')
    month = fields.Date("Month", required=True)
    amount = fields.Numeric("Amount", digits=(16, 2), required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('supplier_month_unique', Unique(t, t.supplier, t.month),
                'relief_certification.msg_consumption_unique'),
            ]

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        # On activation and every update: purchases confirmed before the
        # module was activated, or while it was deactivated, count too.
        cls.rebuild()

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        # The totals are kept in SQL by the purchases (add, rebuild); no
        # access row grants a change, this holds if one ever did.
        if external:
            raise AccessError(gettext(
                    'relief_certification.msg_consumption_modify'))

    @classmethod
    def add(cls, purchases, sign=1):
        "Add (or with sign=-1 remove) the untaxed amount of purchases"
        amounts = defaultdict(Decimal)
        for purchase in purchases:
            month = purchase._relief_date().replace(day=1)
            amounts[purchase.party.id, month] += (
                sign * purchase.untaxed_amount)
        if not amounts:
            return
        table = cls.__table__()
        add_amounts(table, ['supplier', 'month'],
            [[s, m, a] for (s, m), a in amounts.items()])
        if sign < 0:
            cursor = Transaction().connection.cursor()
            # What rebuild() would not create: a month with nothing left
            cursor.execute(*table.delete(where=(table.amount == 0)
                    & table.supplier.in_([s for s, _ in amounts])))

    @classmethod
    def rebuild(cls):
        "Recompute every running total from the purchases (set-based)"
        Purchase = Pool().get('purchase.purchase')
        table = cls.__table__()
        purchase = Purchase.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.delete())
        if backend.name == 'sqlite':
            # SQLite's date_trunc gives a timestamp text, not a date
            month = _Strftime(Literal('%Y-%m-01'), purchase.purchase_date)
        else:
            month = DateTrunc('month', purchase.purchase_date)
        # A subquery: PostgreSQL does not see that two parameters of the
        # month expression (in SELECT and GROUP BY) are the same.
        months = purchase.select(
            purchase.party.as_('supplier'), month.as_('month'),
            Coalesce(purchase.untaxed_amount_cache, 0).as_('amount'),
            where=purchase.state.in_(CONSUMING)
            & (purchase.purchase_date != Null))
        cursor.execute(*table.insert(
                [table.supplier, table.month, table.amount],
                months.select(
                    months.supplier, months.month, Sum(months.amount),
                    group_by=[months.supplier, months.month])))

    @classmethod
    def totals(cls, suppliers, start, end):
        "Return the amount confirmed from each supplier between the months"
        rows = cls._rows_query([s.id for s in suppliers], start, end)
        cursor = Transaction().connection.cursor()
        cursor.execute(*rows.select(
                rows.supplier, Sum(rows.amount), group_by=[rows.supplier]))
        # SQLite adds NUMERIC as floats
        return {s: Decimal(str(a)).quantize(Decimal('0.01'))
            for s, a in cursor}

    @classmethod
    def _rows_query(cls, supplier_ids, start, end):
        "The (supplier, amount) rows of the months between start and end"
        table = cls.__table__()
        return table.select(
            table.supplier.as_('supplier'), table.amount.as_('amount'),
            where=table.supplier.in_(supplier_ids)
            & (table.month >= start.replace(day=1))
            & (table.month <= end))


class Purchase(metaclass=PoolMeta):
    __name__ = 'purchase.purchase'

    @classmethod
    @ModelView.button
    @Workflow.transition('confirmed')
    def confirm(cls, purchases):
        pool = Pool()
        Consumption = pool.get('relief.purchase.consumption')
        templates = cls._relief_templates(purchases)
        holding = cls.serialize_relief_caps(purchases, templates)
        certifications = cls.check_relief_certification(
            purchases, templates, holding)
        super().confirm(purchases)
        # After confirming, the amounts are stored; the cap is checked on
        # the totals with these purchases in.
        Consumption.add(purchases)
        cls.check_relief_cap(purchases, certifications)

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, purchases):
        pool = Pool()
        Consumption = pool.get('relief.purchase.consumption')
        confirmed = [p for p in purchases if p.state == 'confirmed']
        # Before the drafting clears the amount caches
        Consumption.add(confirmed, sign=-1)
        super().draft(purchases)

    def _relief_date(self):
        "The purchase date, as confirming sets it"
        Date = Pool().get('ir.date')
        if self.purchase_date:
            return self.purchase_date
        with Transaction().set_context(company=self.company.id):
            return Date.today()

    @classmethod
    def _relief_templates(cls, purchases):
        """Return the relief products of each purchase that has some, in one
        query: {purchase id: {template id: (certified for the supplier,
        listed)}} on the purchase date (as ProductCertification.find_valid
        and CatalogueEntry.listed_on say)"""
        pool = Pool()
        Line = pool.get('purchase.line')
        Product = pool.get('product.product')
        Template = pool.get('product.template')
        ProductCertification = pool.get('relief.product.certification')
        Entry = pool.get('relief.catalogue.entry')
        Date = pool.get('ir.date')
        purchase = cls.__table__()
        line = Line.__table__()
        product = Product.__table__()
        template = Template.__table__()
        certification = ProductCertification.__table__()
        entry = Entry.__table__()
        # What confirming sets as the purchase date when there is none
        date = Coalesce(purchase.purchase_date, Date.today())
        certified = Exists(certification.select(Literal(1),
                where=(certification.template == template.id)
                & (certification.supplier == purchase.party)
                & (certification.state == 'certified')
                & (certification.valid_from <= date)
                & (certification.valid_to >= date)))
        listed = Exists(entry.select(Literal(1),
                where=(entry.template == template.id)
                & entry.state.in_(['listed', 'delisted'])
                & (entry.listed <= date)
                & ((entry.delisted == Null) | (entry.delisted > date))))
        cursor = Transaction().connection.cursor()
        result = defaultdict(dict)
        for sub_ids in grouped_slice(
                [p.id for p in purchases], backend.MAX_QUERY_PARAMS // 2):
            cursor.execute(*line
                .join(purchase, condition=line.purchase == purchase.id)
                .join(product, condition=line.product == product.id)
                .join(template, condition=product.template == template.id)
                .select(line.purchase, template.id, certified, listed,
                    where=line.purchase.in_(list(sub_ids))
                    & (line.type == 'line')
                    & (template.relief == Literal(True))))
            for purchase_id, template_id, is_certified, is_listed in cursor:
                result[purchase_id][template_id] = (
                    bool(is_certified), bool(is_listed))
        return result

    def _relief_line(self, template_id):
        "The first line of the product (for messages)"
        return next(l for l in self.lines
            if l.product and l.product.template.id == template_id)

    @classmethod
    def check_relief_certification(
            cls, purchases, templates=None, holding=None):
        """Refuse relief products not certified and listed on the date

        holding is what serialize_relief_caps returns.  Return the supplier
        certification of each purchase of relief products (by id)."""
        pool = Pool()
        SupplierCertification = pool.get('relief.supplier.certification')
        Template = pool.get('product.template')
        if templates is None:
            templates = cls._relief_templates(purchases)
        certifications = {}
        for purchase in purchases:
            if not templates.get(purchase.id):
                continue
            date = purchase._relief_date()
            p_templates = Template.browse(sorted(templates[purchase.id]))
            if holding is not None:
                supplier = next((SupplierCertification(id_)
                        for id_, state, valid_from, valid_to
                        in holding.get(purchase.party.id, [])
                        if state == 'certified'
                        and valid_from <= date <= valid_to), None)
            else:
                supplier = SupplierCertification.find_valid(
                    [purchase.party], date).get(purchase.party.id)
            if not supplier:
                raise NotCertifiedError(gettext(
                        'relief_certification.msg_purchase_supplier_not_certified',
                        purchase=purchase.rec_name,
                        supplier=purchase.party.rec_name,
                        product=purchase._relief_line(
                            p_templates[0].id).product.rec_name,
                        date=date))
            certifications[purchase.id] = supplier
            for template in p_templates:
                certified, listed = templates[purchase.id][template.id]
                if not certified:
                    raise NotCertifiedError(gettext(
                            'relief_certification.msg_purchase_product_not_certified',
                            purchase=purchase.rec_name,
                            product=purchase._relief_line(
                                template.id).product.rec_name,
                            supplier=purchase.party.rec_name,
                            certificate=supplier.number, date=date))
                if not listed:
                    raise NotCertifiedError(gettext(
                            'relief_certification.msg_purchase_product_not_listed',
                            purchase=purchase.rec_name,
                            product=purchase._relief_line(
                                template.id).product.rec_name,
                            supplier=purchase.party.rec_name, date=date))
        return certifications

    @classmethod
    def serialize_relief_caps(cls, purchases, templates=None):
        """Make confirmations of one supplier's relief purchases serialize.

        Each one locks the rows of the supplier's certifications first
        (lock_rows): of two transactions confirming at the same time, the
        second waits for the first to end and runs again, this time seeing
        what the first consumed; it never gives up with a serialization
        error.  No restart when nobody else confirms for the supplier.  All
        the supplier's certificates: after a renewal two share a period.

        Return the certificates updated per supplier as (id, state, valid
        from, valid to), which spares the checks a search."""
        pool = Pool()
        Certification = pool.get('relief.supplier.certification')
        if templates is None:
            templates = cls._relief_templates(purchases)
        suppliers = {p.party.id for p in purchases if templates.get(p.id)}
        if not suppliers:
            return {}
        table = Certification.__table__()
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        where = (table.supplier.in_(sorted(suppliers))
            & table.state.in_(HOLDING))
        lock_rows(table, where, gettext(
                'relief_certification.msg_supplier_caps',
                suppliers=', '.join(sorted(p.party.rec_name
                        for p in purchases if p.party.id in suppliers))))
        query = table.update([table.write_date], [table.write_date],
            where=where)
        if transaction.database.has_returning():
            query.returning = [table.id, table.supplier, table.state,
                table.valid_from, table.valid_to]
            cursor.execute(*query)
            rows = cursor.fetchall()
        else:
            cursor.execute(*query)
            cursor.execute(*table.select(table.id, table.supplier,
                    table.state, table.valid_from, table.valid_to,
                    where=where))
            rows = cursor.fetchall()
        holding = defaultdict(list)
        for id_, supplier, state, valid_from, valid_to in rows:
            holding[supplier].append((id_, state, valid_from, valid_to))
        return holding

    @classmethod
    def check_relief_cap(cls, purchases, certifications=None):
        "Refuse confirmations that would take a supplier past its cap"
        pool = Pool()
        Certification = pool.get('relief.supplier.certification')
        if certifications is None:
            templates = cls._relief_templates(purchases)
            certifications = {}
            for purchase in purchases:
                if templates.get(purchase.id):
                    certification = Certification.find_valid(
                        [purchase.party], purchase._relief_date()).get(
                        purchase.party.id)
                    if certification:
                        certifications[purchase.id] = certification
        by_certification = defaultdict(list)
        for purchase in purchases:
            if purchase.id in certifications:
                by_certification[certifications[purchase.id]].append(
                    purchase)
        for certification, c_purchases in by_certification.items():
            certification._check_cap(c_purchases)

    @classmethod
    def relief_consumed(cls, suppliers, start, end):
        """Return the untaxed amount purchased from each supplier in the period

        The confirmed amount (the running totals), less the goods the
        purchases will never deliver: moves cancelled and ignored (handle
        shipment exception).  One query."""
        pool = Pool()
        Consumption = pool.get('relief.purchase.consumption')
        if not suppliers:
            return {}
        ids = [s.id for s in suppliers]
        join, purchase, amount, where = cls._relief_ignored_join(start, end)
        amounts = Union(
            Consumption._rows_query(ids, start, end),
            join.select(
                purchase.party.as_('supplier'), Neg(amount).as_('amount'),
                where=where & purchase.party.in_(ids)),
            all_=True)
        cursor = Transaction().connection.cursor()
        cursor.execute(*amounts.select(
                amounts.supplier, Sum(amounts.amount),
                group_by=[amounts.supplier]))
        # SQLite adds NUMERIC as floats
        return {s: Decimal(str(a)).quantize(Decimal('0.01'))
            for s, a in cursor}

    @classmethod
    def _relief_ignored_join(cls, start, end):
        """Return the join of the ignored moves of the purchases in the
        period, their purchase table, the amount column and the condition"""
        pool = Pool()
        Line = pool.get('purchase.line')
        Ignored = pool.get('purchase.line-ignored-stock.move')
        Move = pool.get('stock.move')
        purchase = cls.__table__()
        line = Line.__table__()
        ignored = Ignored.__table__()
        move = Move.__table__()
        # Ignored moves are few: the join starts from them.  A purchase
        # line's moves are in the line's unit.
        join = (ignored
            .join(move, condition=ignored.move == move.id)
            .join(line, condition=ignored.purchase_line == line.id)
            .join(purchase, condition=line.purchase == purchase.id))
        where = (purchase.state.in_(CONSUMING)
            & (purchase.purchase_date >= start)
            & (purchase.purchase_date <= end))
        amount = Cast(move.quantity, 'NUMERIC') * line.unit_price
        return join, purchase, amount, where

    @classmethod
    def _relief_ignored_query(cls, supplier, start, end):
        "The same amount as a subquery for the supplier column"
        join, purchase, amount, where = cls._relief_ignored_join(start, end)
        return join.select(
            Coalesce(Sum(amount), 0),
            where=where & (purchase.party == supplier))
