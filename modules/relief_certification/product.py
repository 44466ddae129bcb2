# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction


class Template(metaclass=PoolMeta):
    __name__ = 'product.template'

    relief = fields.Boolean(
        "Poverty-Relief Product",
        help="Check for products that must be certified and listed in the "
        "catalogue to be bought and sold.")
    relief_certifications = fields.One2Many(
        'relief.product.certification', 'template', "Certifications",
        states={'invisible': ~Eval('relief')})
    catalogue_entries = fields.One2Many(
        'relief.catalogue.entry', 'template', "Catalogue Entries",
        readonly=True, states={'invisible': ~Eval('relief')})
    relief_listed = fields.Function(
        fields.Boolean(
            "Listed", states={'invisible': ~Eval('relief')}),
        'get_relief_listed', searcher='search_relief_listed')

    @classmethod
    def default_relief(cls):
        return False

    @classmethod
    def _relief_date(cls):
        Date = Pool().get('ir.date')
        return Transaction().context.get('date') or Date.today()

    @classmethod
    def get_relief_listed(cls, templates, name):
        Entry = Pool().get('relief.catalogue.entry')
        listed = Entry.listed_on(
            [t for t in templates if t.relief], cls._relief_date())
        return {t.id: t.id in listed for t in templates}

    @classmethod
    def search_relief_listed(cls, name, clause):
        date = cls._relief_date()
        _, operator, value = clause[:3]
        listed = bool(value) == (operator == '=')
        domain = [
            ('listed', '<=', date),
            ['OR',
                ('delisted', '=', None),
                ('delisted', '>', date),
                ],
            ('state', 'in', ['listed', 'delisted']),
            ]
        if listed:
            return [('catalogue_entries', 'where', domain)]
        return [('catalogue_entries', 'not where', domain)]


class Product(metaclass=PoolMeta):
    __name__ = 'product.product'

    @property
    def relief_templates(self):
        "The relief products that selling this product sells"
        if self.type == 'kit':
            # A gift pack sells its relief components, not itself.
            return [c.product.template for c in self.components_used
                if c.product.template.relief]
        return [self.template] if self.template.relief else []
