# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
from decimal import Decimal

from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


class ReliefTestCase(ModuleTestCase):
    "Test Relief module"
    module = 'relief'

    @with_transaction()
    def test_rule_walks_up_to_province(self):
        "A county without its own rule uses its city's, then its province's"
        pool = Pool()
        Rule = pool.get('relief.rule')
        Subdivision = pool.get('country.subdivision')
        province, = Subdivision.search([('code', '=', 'CN-SN')])
        city, = Subdivision.create([{
                    'country': province.country.id, 'name': "安康市",
                    'parent': province.id, 'relief_level': 'city'}])
        county, = Subdivision.create([{
                    'country': province.country.id, 'name': "汉阴县",
                    'parent': city.id, 'relief_level': 'county'}])
        date = dt.date(2021, 6, 1)

        self.assertEqual(
            Rule.get_value('relief_share_min', county, date), Decimal(30))

        Rule.create([{
                    'jurisdiction': city.id, 'kind': 'relief_share_min',
                    'value': Decimal(50), 'valid_from': dt.date(2021, 1, 1),
                    'source': "安康市总工会通知"}])
        self.assertEqual(
            Rule.get_values('relief_share_min', [county, province], date),
            {county.id: Decimal(50), province.id: Decimal(30)})
        self.assertEqual(
            Rule.get_value('relief_share_min', county, dt.date(2020, 6, 1)),
            Decimal(30))

    @with_transaction()
    def test_rule_none_before_any(self):
        "No rule in force gives None"
        pool = Pool()
        Rule = pool.get('relief.rule')
        Subdivision = pool.get('country.subdivision')
        province, = Subdivision.search([('code', '=', 'CN-SN')])
        self.assertIsNone(
            Rule.get_value('festival_gift_cap', province, dt.date(2019, 1, 1)))


del ModuleTestCase
