# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class ReliefReportTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Relief Report module"
    module = 'relief_report'
    extras = ['relief_mall', 'relief_counter']


del ModuleTestCase
