# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt

from trytond.modules.company.tests import CompanyTestMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


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


del ModuleTestCase
