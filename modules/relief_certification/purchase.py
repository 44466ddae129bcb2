# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from collections import defaultdict
from decimal import Decimal

from sql.aggregate import Sum
from sql.conditionals import Coalesce

from trytond.i18n import gettext
from trytond.model import Index, ModelView, Workflow
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .exceptions import NotCertifiedError

# Purchases that consume a supplier's cap.
CONSUMING = ['confirmed', 'processing', 'done']


class Purchase(metaclass=PoolMeta):
    __name__ = 'purchase.purchase'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # What relief_consumed reads: a range of one supplier's dates.
        cls._sql_indexes.add(
            Index(t, (t.party, Index.Range()),
                (t.purchase_date, Index.Range()),
                where=t.state.in_(CONSUMING)))

    @classmethod
    @ModelView.button
    @Workflow.transition('confirmed')
    def confirm(cls, purchases):
        cls.check_relief_certification(purchases)
        cls.check_relief_cap(purchases)
        super().confirm(purchases)

    def _relief_date(self):
        Date = Pool().get('ir.date')
        with Transaction().set_context(company=self.company.id):
            return self.purchase_date or Date.today()

    def _relief_lines(self):
        return [l for l in self.lines
            if l.type == 'line' and l.product and l.product.template.relief]

    @classmethod
    def check_relief_certification(cls, purchases):
        "Refuse relief products not certified and listed on the date"
        pool = Pool()
        SupplierCertification = pool.get('relief.supplier.certification')
        ProductCertification = pool.get('relief.product.certification')
        Entry = pool.get('relief.catalogue.entry')
        for purchase in purchases:
            lines = purchase._relief_lines()
            if not lines:
                continue
            date = purchase._relief_date()
            templates = {l.product.template for l in lines}
            supplier = SupplierCertification.find_valid(
                [purchase.party], date).get(purchase.party.id)
            if not supplier:
                raise NotCertifiedError(gettext(
                        'relief_certification.msg_purchase_supplier_not_certified',
                        purchase=purchase.rec_name,
                        supplier=purchase.party.rec_name,
                        product=lines[0].product.rec_name, date=date))
            products = ProductCertification.find_valid(
                [(t, purchase.party) for t in templates], date)
            listed = Entry.listed_on(templates, date)
            for line in lines:
                template = line.product.template
                if (template.id, purchase.party.id) not in products:
                    raise NotCertifiedError(gettext(
                            'relief_certification.msg_purchase_product_not_certified',
                            purchase=purchase.rec_name,
                            product=line.product.rec_name,
                            supplier=purchase.party.rec_name,
                            certificate=supplier.number, date=date))
                if template.id not in listed:
                    raise NotCertifiedError(gettext(
                            'relief_certification.msg_purchase_product_not_listed',
                            purchase=purchase.rec_name,
                            product=line.product.rec_name,
                            supplier=purchase.party.rec_name, date=date))

    @classmethod
    def check_relief_cap(cls, purchases):
        """Refuse confirmations that would take a supplier past its cap.

        The supplier's certification is locked first, so two purchases of one
        supplier confirmed at the same time are checked one after the other.
        """
        pool = Pool()
        Certification = pool.get('relief.supplier.certification')
        by_certification = defaultdict(list)
        for purchase in purchases:
            if not purchase._relief_lines():
                continue
            date = purchase._relief_date()
            certification = Certification.find_valid(
                [purchase.party], date).get(purchase.party.id)
            if certification:
                by_certification[certification].append(purchase)
        if not by_certification:
            return
        Certification.lock(list(by_certification))
        for certification, c_purchases in by_certification.items():
            certification._check_cap(c_purchases)

    @classmethod
    def relief_consumed(cls, suppliers, start, end, exclude=None):
        "Return the untaxed amount purchased from each supplier in the period"
        if not suppliers:
            return {}
        purchase = cls.__table__()
        cursor = Transaction().connection.cursor()
        where = (purchase.party.in_([s.id for s in suppliers])
            & purchase.state.in_(CONSUMING)
            & (purchase.purchase_date >= start)
            & (purchase.purchase_date <= end))
        if exclude:
            where &= ~purchase.id.in_([p.id for p in exclude])
        cursor.execute(*purchase.select(
                purchase.party,
                Sum(Coalesce(purchase.untaxed_amount_cache, 0)),
                where=where, group_by=[purchase.party]))
        return {party: Decimal(str(amount)) for party, amount in cursor}

