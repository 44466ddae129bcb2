# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.modules.company.tests import CompanyTestMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


class ReliefReportTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Relief Report module"
    module = 'relief_report'
    extras = ['relief_mall', 'relief_counter']

    @with_transaction()
    def test_progress_browse_slices(self):
        "The progress rows share lists of the record cache's size"
        Progress = Pool().get('relief.report.progress')
        with Transaction().set_context(_record_cache_size=2):
            records = Progress.browse([5, 1, 3, 2, 4])
        self.assertEqual([r.id for r in records], [5, 1, 3, 2, 4])
        self.assertEqual([len(r._ids) for r in records], [2, 2, 2, 2, 1])


del ModuleTestCase
