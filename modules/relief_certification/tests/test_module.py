# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
from decimal import Decimal

from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.modules.relief_certification.exceptions import PurchaseCapError
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


def confirmed_purchase(supplier, date, amount):
    "Confirm a purchase of a line without product (no relief check)"
    Purchase = Pool().get('purchase.purchase')
    purchase, = Purchase.create([{
                'party': supplier.id,
                'invoice_address': supplier.addresses[0].id,
                'purchase_date': date,
                'lines': [('create', [{
                                'description': "Kiwis",
                                'quantity': 1,
                                'unit_price': amount,
                                }])],
                }])
    Purchase.quote([purchase])
    Purchase.confirm([purchase])
    return purchase


def consumption_rows():
    "The running totals as a set of (supplier, month, amount)"
    Consumption = Pool().get('relief.purchase.consumption')
    return {(r['supplier'], r['month'], r['amount'])
        for r in Consumption.search_read(
            [], fields_names=['supplier', 'month', 'amount'])}


class ReliefCertificationTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Relief Certification module"
    module = 'relief_certification'

    @with_transaction()
    def test_cap_period(self):
        "The cap period is the year, quarter or month of the date"
        pool = Pool()
        Certification = pool.get('relief.supplier.certification')
        Configuration = pool.get('relief.configuration')
        date = dt.date(2024, 2, 29)
        self.assertEqual(
            Certification.cap_period(date),
            (dt.date(2024, 1, 1), dt.date(2024, 12, 31)))
        for period, expected in [
                ('quarter', (dt.date(2024, 1, 1), dt.date(2024, 3, 31))),
                ('month', (dt.date(2024, 2, 1), dt.date(2024, 2, 29))),
                ]:
            config = Configuration(1)
            config.purchase_cap_period = period
            config.save()
            self.assertEqual(Certification.cap_period(date), expected)
        self.assertEqual(
            Certification.cap_period(dt.date(2024, 12, 15)),
            (dt.date(2024, 12, 1), dt.date(2024, 12, 31)))

    @with_transaction()
    def test_consumption_matches_rebuild(self):
        "The running totals kept by confirm and draft are what rebuild finds"
        pool = Pool()
        Party = pool.get('party.party')
        Purchase = pool.get('purchase.purchase')
        Consumption = pool.get('relief.purchase.consumption')
        company = create_company()
        with set_company(company):
            supplier1, supplier2 = Party.create([
                    {'name': name, 'addresses': [('create', [{}])]}
                    for name in ["Supplier 1", "Supplier 2"]])
            jan, feb = dt.date(2024, 1, 1), dt.date(2024, 2, 1)
            for supplier, date, amount in [
                    (supplier1, dt.date(2024, 1, 10), Decimal(100)),
                    (supplier1, dt.date(2024, 1, 20), Decimal(40)),
                    (supplier1, dt.date(2024, 2, 5), Decimal(7)),
                    (supplier2, dt.date(2024, 1, 31), Decimal(1000)),
                    ]:
                confirmed_purchase(supplier, date, amount)
            drafted = confirmed_purchase(
                supplier2, dt.date(2024, 1, 2), Decimal(300))
            Purchase.draft([drafted])

            rows = consumption_rows()
            Consumption.rebuild()

            self.assertEqual(drafted.state, 'draft')
            self.assertEqual(rows, {
                    (supplier1.id, jan, Decimal(140)),
                    (supplier1.id, feb, Decimal(7)),
                    (supplier2.id, jan, Decimal(1000)),
                    })
            self.assertEqual(consumption_rows(), rows)

    @with_transaction()
    def test_consumption_add(self):
        "Adding to a supplier's month adds to its total"
        pool = Pool()
        Party = pool.get('party.party')
        Consumption = pool.get('relief.purchase.consumption')
        company = create_company()
        with set_company(company):
            supplier, = Party.create([
                    {'name': "Supplier", 'addresses': [('create', [{}])]}])
            purchase = confirmed_purchase(
                supplier, dt.date(2024, 3, 15), Decimal('12.50'))

            Consumption.add([purchase])
            Consumption.add([purchase, purchase])

            month = dt.date(2024, 3, 1)
            self.assertEqual(consumption_rows(), {
                    (supplier.id, month, Decimal(50))})
            self.assertEqual(
                Consumption.totals([supplier], month, dt.date(2024, 3, 31)),
                {supplier.id: Decimal(50)})
            Consumption.add([purchase], sign=-1)
            self.assertEqual(consumption_rows(), {
                    (supplier.id, month, Decimal('37.50'))})


    @with_transaction()
    def test_cap_renewal_confirmed_together(self):
        "Purchases under two certificates of one period share the cap"
        pool = Pool()
        Party = pool.get('party.party')
        Subdivision = pool.get('country.subdivision')
        Rule = pool.get('relief.rule')
        Certification = pool.get('relief.supplier.certification')
        ProductCertification = pool.get('relief.product.certification')
        Entry = pool.get('relief.catalogue.entry')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        Purchase = pool.get('purchase.purchase')
        company = create_company()
        with set_company(company):
            county, = Subdivision.search([('gbt2260_code', '=', '610124')])
            Rule.create([{
                        'jurisdiction': county.id,
                        'kind': 'purchase_cap_per_person',
                        'value': Decimal(100),
                        'valid_from': dt.date(2020, 1, 1),
                        'source': "Test",
                        }])
            supplier, = Party.create([
                    {'name': "Supplier", 'addresses': [('create', [{}])]}])
            # A renewal in the middle of the year: cap 100 × 100 each
            old, new = Certification.create([{
                        'supplier': supplier.id, 'county': county.id,
                        'office': "Office", 'number': number,
                        'poor_people': 100,
                        'valid_from': start, 'valid_to': end,
                        } for number, start, end in [
                        ('A', dt.date(2024, 1, 1), dt.date(2024, 6, 30)),
                        ('B', dt.date(2024, 7, 1), dt.date(2025, 6, 30)),
                        ]])
            Certification.certify([old, new])
            unit, = Uom.search([('name', '=', "Unit")])
            template, = Template.create([{
                        'name': "Kiwi", 'type': 'goods', 'relief': True,
                        'purchasable': True, 'default_uom': unit.id,
                        'purchase_uom': unit.id,
                        'products': [('create', [{}])],
                        }])
            certification, = ProductCertification.create([{
                        'template': template.id, 'supplier': supplier.id,
                        'catalogue_number': "1",
                        'valid_from': dt.date(2024, 1, 1),
                        'valid_to': dt.date(2025, 6, 30),
                        }])
            ProductCertification.certify([certification])
            entry, = Entry.create([{
                        'template': template.id,
                        'listed': dt.date(2024, 1, 1)}])
            Entry.list_([entry])
            purchases = Purchase.create([{
                        'party': supplier.id,
                        'invoice_address': supplier.addresses[0].id,
                        'purchase_date': date,
                        'lines': [('create', [{
                                        'product': template.products[0].id,
                                        'quantity': 1,
                                        'unit': unit.id,
                                        'unit_price': Decimal(6000),
                                        }])],
                        } for date in [
                        dt.date(2024, 3, 1), dt.date(2024, 9, 1)]])
            Purchase.quote(purchases)

            # Each fits in what remains; together they pass the cap.
            with self.assertRaises(PurchaseCapError):
                Purchase.confirm(purchases)


del ModuleTestCase
