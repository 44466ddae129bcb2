# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import unittest
from decimal import Decimal

from trytond.modules.relief_subsidy.report import amount_in_words


class AmountInWordsTestCase(unittest.TestCase):
    "The total of the claim statement in capital numerals (大写金额)"

    def test_amounts(self):
        for amount, words in [
                ('0', '零元整'),
                ('78', '柒拾捌元整'),
                ('0.50', '伍角整'),
                ('100.07', '壹佰元零柒分'),
                ('1010.10', '壹仟零壹拾元壹角整'),
                ('10005', '壹万零伍元整'),
                ('1000000.05', '壹佰万元零伍分'),
                ('20300400', '贰仟零叁拾万零肆佰元整'),
                ('123456789.12', '壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元壹角贰分'),
                ('-26', '负贰拾陆元整'),
                ]:
            with self.subTest(amount=amount):
                self.assertEqual(amount_in_words(Decimal(amount)), words)
