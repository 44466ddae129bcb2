# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class ReliefBiddingTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Relief Bidding module"
    module = 'relief_bidding'


del ModuleTestCase
