# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class ReliefMallTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Relief Mall module"
    module = 'relief_mall'


del ModuleTestCase
