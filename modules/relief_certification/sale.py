# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.i18n import gettext
from trytond.model import ModelView, Workflow
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .exceptions import NotCertifiedError


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    @classmethod
    @ModelView.button
    @Workflow.transition('quotation')
    def quote(cls, sales):
        cls.check_relief_listed(sales)
        super().quote(sales)

    @classmethod
    @ModelView.button
    @Workflow.transition('confirmed')
    def confirm(cls, sales):
        cls.check_relief_listed(sales)
        super().confirm(sales)

    @classmethod
    def check_relief_listed(cls, sales):
        "Refuse relief products, alone or in gift packs, that are not listed"
        pool = Pool()
        Entry = pool.get('relief.catalogue.entry')
        Date = pool.get('ir.date')
        for sale in sales:
            pairs = [(l, t) for l in sale.lines
                if l.type == 'line' and l.product
                for t in l.product.relief_templates]
            if not pairs:
                continue
            with Transaction().set_context(company=sale.company.id):
                date = sale.sale_date or Date.today()
            listed = Entry.listed_on({t for _, t in pairs}, date)
            for line, template in pairs:
                if template.id in listed:
                    continue
                if line.product.template != template:
                    message = 'msg_sale_pack_component_not_listed'
                else:
                    message = 'msg_sale_product_not_listed'
                raise NotCertifiedError(gettext(
                        'relief_certification.' + message,
                        sale=sale.rec_name, product=line.product.rec_name,
                        component=template.rec_name, date=date))
