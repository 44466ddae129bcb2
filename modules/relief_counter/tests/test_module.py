# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from decimal import Decimal

from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


class ReliefCounterTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Relief Counter module"
    module = 'relief_counter'

    def _product(self, list_price, cost_price):
        pool = Pool()
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        unit, = Uom.search([('name', '=', 'Unit')])
        template, = Template.create([{
                    'name': "周至猕猴桃礼盒", 'default_uom': unit.id,
                    'list_price': list_price,
                    'products': [('create', [{'cost_price': cost_price}])],
                    }])
        return template.products[0], unit

    @with_transaction()
    def test_price_list_formula_names(self):
        "A formula reads the prices it names, the others are not computed"
        pool = Pool()
        PriceList = pool.get('product.price_list')
        company = create_company()
        with set_company(company):
            product, unit = self._product(Decimal(65), Decimal(40))
            price_list, = PriceList.create([{
                        'name': "会员价", 'price': 'list_price',
                        'lines': [('create', [
                                    {'formula': 'unit_price * 0.9'}])],
                        }])
            names = price_list.get_context_formula(product, 1, unit)['names']
            self.assertNotIn('cost_price', names)
            self.assertEqual(
                price_list.compute(product, 1, unit), Decimal('58.5'))

            price_list.lines[0].formula = 'cost_price * 1.1'
            price_list.lines[0].save()
            self.assertEqual(
                price_list.compute(product, 1, unit), Decimal('44'))
            price_list.price = None
            price_list.lines[0].formula = 'unit_price'
            price_list.lines[0].save()
            price_list.save()
            self.assertEqual(price_list.compute(product, 1, unit), None)
            with self.assertRaises(KeyError):
                names['unknown']


del ModuleTestCase
