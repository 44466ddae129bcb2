# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The 附件2 import against random damage"""
import datetime as dt
from io import BytesIO

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from trytond.modules.company.tests import create_company, set_company
from trytond.modules.relief.exceptions import ExcelError
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    TestCase, activate_module, with_transaction)

HEADER = ["序号", "贫困县", "供应商/销售商", "商品名称", "扶贫产品产量",
    "带贫人数", "供应商/销售商联系人", "联系方式"]
ROWS = [
    [1, "周至县", "周至县猕猴桃专业合作社", "猕猴桃", "500吨", 120, "张三",
        13800000001],
    [2, "周至", "周至秦岭蜂业有限公司", "土蜂蜜", 8, 35, "李四",
        "029-87000000"],
    [3, "洛南县", "洛南县秦核桃业有限公司", "核桃", "1.5万斤", 60, "赵六",
        "13900000000"],
    ]
MODELS = [
    'party.party', 'product.template', 'relief.supplier.certification',
    'relief.product.certification']


def annex2(rows):
    "Return a filled 附件2 as .xlsx data"
    book = Workbook()
    for line in [
            ["贫困县重点扶贫产品供应商推荐名录"], ["推荐单位（盖章）：周至县总工会"],
            HEADER, *rows, [], ["填报人：王五"]]:
        book.active.append([
                ILLEGAL_CHARACTERS_RE.sub('', v) if isinstance(v, str) else v
                for v in line])
    data = BytesIO()
    book.save(data)
    return data.getvalue()


class RecommendationTestCase(TestCase):
    "Test the 附件2 import"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('relief_certification')

    @with_transaction()
    def test_random_damage(self):
        """A damaged form raises only ExcelError and writes nothing, or
        imports"""
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st

        pool = Pool()
        Certification = pool.get('relief.supplier.certification')
        cell = st.one_of(
            st.none(), st.integers(-10 ** 20, 10 ** 20),
            st.floats(allow_nan=True, allow_infinity=True),
            st.text(max_size=20), st.sampled_from([
                    "周至县", "周至悬", "3万斤", "20000箱", "5筐", "约500吨",
                    "[X] 猕猴桃", "=A1", "+86 029 8888 0001", "abc",
                    "x" * 300, "1e999999999", "", " "]))
        damage = st.lists(
            st.tuples(st.integers(0, 4), st.integers(0, 7), cell),
            max_size=8)

        def counts():
            return [pool.get(m).search_count([]) for m in MODELS]

        @settings(max_examples=40, deadline=None,
            suppress_health_check=list(HealthCheck))
        @given(damage)
        def check(damage):
            rows = [r[:] for r in ROWS] + [[None] * 8, [None] * 8]
            for row, column, value in damage:
                rows[row][column] = value
            before = counts()
            try:
                imported = Certification.read_recommendation(
                    annex2(rows), filename="附件2.xlsx")
            except ExcelError:
                self.assertEqual(counts(), before)
                return
            Certification.import_recommendation(
                imported, "周至县扶贫开发办公室", dt.date(2024, 1, 1),
                dt.date(2025, 12, 31))
        with set_company(create_company()):
            # A first import outside hypothesis: on PostgreSQL the tables it
            # locks make with_transaction start again holding them
            Certification.import_recommendation(
                Certification.read_recommendation(annex2(ROWS)),
                "周至县扶贫开发办公室", dt.date(2024, 1, 1),
                dt.date(2025, 12, 31))
            check()
