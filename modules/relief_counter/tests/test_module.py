# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class ReliefCounterTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Relief Counter module"
    module = 'relief_counter'


del ModuleTestCase
