# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Where the money went: relief purchases and sales by supplier and county
of origin, with the poor people the suppliers lift, and by product
category."""
import datetime as dt

from sql import Cast, Literal, Union
from sql.aggregate import Count, Max, Min, Sum
from sql.conditionals import Coalesce

from trytond import backend
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.relief_certification.certification import HOLDING
from trytond.pool import Pool

from .progress import _year


class Origin(ModelSQL, ModelView):
    "Relief Spending by Origin"
    __name__ = 'relief.report.origin'

    year = fields.Integer("Year")
    supplier = fields.Many2One('party.party', "Supplier")
    county = fields.Many2One('country.subdivision', "County")
    city = fields.Many2One('country.subdivision', "City")
    purchases = fields.Numeric(
        "Purchases (CNY)", digits=(16, 2),
        help="What the platform bought of relief products from the supplier "
        "in the year (confirmed purchases): the income reaching its "
        "county.")
    sales = fields.Numeric(
        "Sales (CNY)", digits=(16, 2),
        help="What unions and members bought of the supplier's certified "
        "products in the year (counted sales; gift packs, whose products "
        "come from several suppliers, are left out).")
    items = fields.Numeric(
        "Items Sold", digits=(16, 2),
        help="The quantity of the supplier's products sold in the year.")
    products = fields.Integer(
        "Products", help="The supplier's products sold in the year.")
    enterprises = fields.Integer(
        "Enterprises", help="1 per supplier, to count them in sums.")
    poor_people = fields.Integer(
        "Poor People Lifted",
        help="带贫人数: the poor people the supplier's certificate says it "
        "lifts out of poverty, counted once per supplier and year however "
        "much it sells (the highest figure of its certificates in force in "
        "the year); a county's is the sum over its suppliers.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('city', 'ASC NULLS FIRST'), ('county', 'ASC NULLS FIRST'),
            ('supplier', 'ASC'), ('id', 'ASC')]

    @staticmethod
    def _number(column):
        if backend.name == 'sqlite':
            # A decimal is stored as text
            return Cast(column, 'REAL')
        return column

    @classmethod
    def certificates_query(cls, year):
        """Return each supplier's county and poor people lifted among its
        certificates in force during year"""
        Certification = Pool().get('relief.supplier.certification')
        cert = Certification.__table__()
        return cert.select(
            cert.supplier.as_('supplier'),
            Max(cert.county).as_('county'),
            Max(cert.poor_people).as_('poor_people'),
            where=cert.state.in_(HOLDING)
            & (cert.valid_from <= dt.date(year, 12, 31))
            & (cert.valid_to >= dt.date(year, 1, 1)),
            group_by=[cert.supplier])

    @classmethod
    def sold_query(cls, year):
        """Return the counted sales of certified products in year, a row
        per product: its supplier, template, sales and items.

        Read from the running totals by product and month (origin_totals),
        a few thousand rows, not the millions of sale lines; a product is
        sold when some counted line has it"""
        pool = Pool()
        totals = pool.get('relief.report.origin.sold').__table__()
        product = pool.get('product.product').__table__()
        certification = pool.get('relief.product.certification').__table__()
        sold = totals.select(
            totals.product.as_('product'),
            Sum(cls._number(totals.sales)).as_('sales'),
            Sum(totals.items).as_('items'),
            where=totals.year == year,
            group_by=[totals.product],
            having=Sum(totals.lines) > 0)
        # One supplier per product: the first that certified it
        suppliers = certification.select(
            certification.template.as_('template'),
            Min(certification.supplier).as_('supplier'),
            where=certification.state == 'certified',
            group_by=[certification.template])
        return (sold
            .join(product, condition=sold.product == product.id)
            .join(suppliers, condition=suppliers.template == product.template)
            .select(
                suppliers.supplier.as_('supplier'),
                product.template.as_('template'),
                sold.product.as_('product'),
                sold.sales.as_('sales'),
                sold.items.as_('items')))

    @classmethod
    def sales_query(cls, year):
        "Return the counted sales of each supplier's products in year"
        sold = cls.sold_query(year)
        return sold.select(
            sold.supplier.as_('supplier'),
            Sum(sold.sales).as_('sales'),
            Sum(sold.items).as_('items'),
            # A row per product
            Count(sold.product).as_('products'),
            group_by=[sold.supplier])

    @classmethod
    def bought_query(cls, year):
        """Return the confirmed purchases of relief products in year, a row
        per supplier and product: its template and amount (read from the
        running totals by supplier, product and month, origin_totals)"""
        pool = Pool()
        totals = pool.get('relief.report.origin.bought').__table__()
        product = pool.get('product.product').__table__()
        template = pool.get('product.template').__table__()
        bought = totals.select(
            totals.supplier.as_('supplier'),
            totals.product.as_('product'),
            Sum(cls._number(totals.amount)).as_('purchases'),
            where=totals.year == year,
            group_by=[totals.supplier, totals.product])
        return (bought
            .join(product, condition=bought.product == product.id)
            .join(template, condition=product.template == template.id)
            .select(
                bought.supplier.as_('supplier'),
                template.id.as_('template'),
                bought.product.as_('product'),
                bought.purchases.as_('purchases'),
                where=template.relief == Literal(True)))

    @classmethod
    def purchases_query(cls, year):
        "Return what was bought of relief products from each supplier"
        bought = cls.bought_query(year)
        return bought.select(
            bought.supplier.as_('supplier'),
            Sum(bought.purchases).as_('purchases'),
            group_by=[bought.supplier])

    @classmethod
    def table_query(cls):
        area = Pool().get('country.subdivision').__table__()
        year = _year()
        certificates = cls.certificates_query(year)
        sales = cls.sales_query(year)
        purchases = cls.purchases_query(year)
        from_ = (certificates
            .join(sales, 'LEFT', condition=sales.supplier
                == certificates.supplier)
            .join(purchases, 'LEFT', condition=purchases.supplier
                == certificates.supplier)
            .join(area, 'LEFT', condition=area.id == certificates.county))
        return from_.select(
            certificates.supplier.as_('id'),
            Literal(year).as_('year'),
            certificates.supplier.as_('supplier'),
            certificates.county.as_('county'),
            area.parent.as_('city'),
            Coalesce(purchases.purchases, 0).as_('purchases'),
            Coalesce(sales.sales, 0).as_('sales'),
            Coalesce(sales.items, 0).as_('items'),
            Coalesce(sales.products, 0).as_('products'),
            Literal(1).as_('enterprises'),
            certificates.poor_people.as_('poor_people'))


class OriginCategory(ModelSQL, ModelView):
    "Relief Spending by Product Category"
    __name__ = 'relief.report.origin.category'

    year = fields.Integer("Year")
    category = fields.Many2One('product.category', "Category")
    purchases = fields.Numeric(
        "Purchases (CNY)", digits=(16, 2),
        help="What the platform bought of the category's relief products "
        "in the year (confirmed purchases).")
    sales = fields.Numeric(
        "Sales (CNY)", digits=(16, 2),
        help="What unions and members bought of the category's certified "
        "products in the year (counted sales; gift packs are left out).")
    items = fields.Numeric(
        "Items Sold", digits=(16, 2),
        help="The quantity of the category's products sold in the year.")
    products = fields.Integer(
        "Products",
        help="The category's products bought or sold in the year.")
    enterprises = fields.Integer(
        "Enterprises",
        help="The suppliers of the category's products bought or sold in "
        "the year; a supplier of several categories counts in each.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('category', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        """Return the figures of Origin's products by the categories of their
        product (a product of two categories counts in both)"""
        pool = Pool()
        Origin = pool.get('relief.report.origin')
        TemplateCategory = pool.get('product.template-product.category')
        year = _year()
        sales = Origin.sold_query(year)
        purchases = Origin.bought_query(year)
        in_sales, in_purchases = (
            TemplateCategory.__table__(), TemplateCategory.__table__())
        rows = Union(
            sales.join(in_sales, condition=in_sales.template == sales.template
                ).select(
                in_sales.category.as_('category'),
                sales.supplier.as_('supplier'),
                sales.product.as_('product'),
                Literal(0).as_('purchases'),
                sales.sales.as_('sales'),
                sales.items.as_('items')),
            purchases.join(in_purchases,
                condition=in_purchases.template == purchases.template
                ).select(
                in_purchases.category.as_('category'),
                purchases.supplier.as_('supplier'),
                purchases.product.as_('product'),
                purchases.purchases.as_('purchases'),
                Literal(0).as_('sales'),
                Literal(0).as_('items')),
            all_=True)
        return rows.select(
            rows.category.as_('id'),
            Literal(year).as_('year'),
            rows.category.as_('category'),
            Sum(rows.purchases).as_('purchases'),
            Sum(rows.sales).as_('sales'),
            Sum(rows.items).as_('items'),
            Count(rows.product, distinct=True).as_('products'),
            Count(rows.supplier, distinct=True).as_('enterprises'),
            group_by=[rows.category])


class OriginContext(ModelView):
    "Relief Spending by Origin Context"
    __name__ = 'relief.report.origin.context'

    year = fields.Integer("Year", required=True)

    @classmethod
    def default_year(cls):
        return Pool().get('ir.date').today().year
