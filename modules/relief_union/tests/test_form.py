# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The 附件1 import: in the queue and against random damage"""
from decimal import Decimal
from io import BytesIO

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from trytond.modules.relief.exceptions import ExcelError
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    TestCase, activate_module, with_transaction)
from trytond.transaction import Transaction

from .test_module import create_unions

HEADER = ["序号", "工会名称", "基层工会数量", "职工数（万）",
    "年度个人发放节日慰问品标准（元）", "年度工会发放慰问品总额（万元）",
    "计划消费扶贫金额（万元）", "备注"]
ROWS = [
    [1, "西安市总工会", 5200, 120.5, 2200, 26510, 7953, "含市直机关"],
    [2, "周至县总工会", 310, 2.35, 2000, 4700, 1410, None],
    [3, "长安区总工会", 880, "6.8", "2,200", 14960, 4488, None],
    ]


def annex1(rows, year=2020):
    "Return a filled 附件1 as .xlsx data"
    book = Workbook()
    for line in [
            [f"{year} 年度全省工会消费扶贫情况统计表"],
            ["填报单位（盖章）：西安市总工会"], HEADER, *rows, [],
            ["填报人：王五"], ["联系电话：029-87001234"]]:
        book.active.append([
                ILLEGAL_CHARACTERS_RE.sub('', v) if isinstance(v, str) else v
                for v in line])
    data = BytesIO()
    book.save(data)
    return data.getvalue()


def xian():
    "Create Xi'an and the two county federations right below it"
    return create_unions([
            ("陕西省总工会", 'province', None),
            ("西安市总工会", 'city', "陕西省总工会"),
            ("周至县总工会", 'county', "西安市总工会"),
            ("长安区总工会", 'county', "西安市总工会"),
            ])["西安市总工会"]


class UnionFormTestCase(TestCase):
    "Test the 附件1 import"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('relief_union')

    def run_tasks(self):
        "Run the queued tasks inline, as the worker would"
        Queue = Pool().get('ir.queue')
        transaction = Transaction()
        while transaction.tasks:
            Queue(transaction.tasks.pop()).run()

    def notifications(self):
        Notification = Pool().get('res.notification')
        return Notification.search([], order=[('id', 'ASC')])

    @with_transaction()
    def test_queued_import(self):
        "An import in the queue creates the plans and notifies the user"
        pool = Pool()
        Plan = pool.get('relief.union.plan')
        User = pool.get('res.user')
        city = xian()

        User.__queue__.relief_import_union_form(
            [User(Transaction().user)], annex1(ROWS), city.id, 2020,
            "附件1.xlsx")
        self.assertEqual(Plan.search([]), [])
        self.run_tasks()

        self.assertEqual(len(Plan.search([('year', '=', 2020)])), 3)
        notification, = self.notifications()
        self.assertEqual(notification.icon, 'tryton-ok')
        self.assertEqual(notification.user.id, Transaction().user)
        self.assertIn("3", notification.label)
        self.assertEqual(notification.model, 'relief.union.plan')

    @with_transaction()
    def test_queued_import_failed(self):
        """An import in the queue that fails writes nothing and notifies the
        user of the errors"""
        pool = Pool()
        Plan = pool.get('relief.union.plan')
        User = pool.get('res.user')
        city = xian()
        rows = [r[:] for r in ROWS]
        rows[2][1] = "长安县总工会"

        User.relief_import_union_form(
            [User(Transaction().user)], annex1(rows), city.id, 2020,
            "附件1.xlsx")

        self.assertEqual(Plan.search([]), [])
        notification, = self.notifications()
        self.assertEqual(notification.icon, 'tryton-error')
        self.assertIn('"附件1.xlsx"', notification.label)
        self.assertIn('"长安县总工会"', notification.description)

    @with_transaction()
    def test_random_damage(self):
        """A damaged form raises only ExcelError and writes nothing, or
        imports valid plans"""
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st

        pool = Pool()
        Plan = pool.get('relief.union.plan')
        city = xian()
        cell = st.one_of(
            st.none(), st.integers(-10 ** 20, 10 ** 20),
            st.floats(allow_nan=True, allow_infinity=True),
            st.decimals(allow_nan=False, allow_infinity=False, places=5),
            st.text(max_size=20), st.sampled_from([
                    "西安市总工会", "周至县总工会", "长安区总工会", "=A1",
                    "约2万", "x" * 600, "1e999999999", "", " "]))
        damage = st.lists(
            st.tuples(st.integers(0, 5), st.integers(0, 9), cell),
            max_size=8)

        @settings(max_examples=40, deadline=None,
            suppress_health_check=list(HealthCheck))
        @given(damage, st.sampled_from([2020, 2021]))
        def check(damage, year):
            rows = [r[:] for r in ROWS] + [[None] * 8, [None] * 8, [None] * 8]
            for row, column, value in damage:
                rows[row][column % 8] = value
            before = Plan.search([], order=[('id', 'ASC')])
            values = [(p.id, p.planned_relief, p.comment) for p in before]
            try:
                imported = Plan.read_form(annex1(rows, year), city, 2020)
            except ExcelError:
                after = Plan.search([], order=[('id', 'ASC')])
                self.assertEqual(
                    [(p.id, p.planned_relief, p.comment) for p in after],
                    values)
                return
            created, updated = Plan.import_form(imported, 2020)
            for plan in created + updated:
                self.assertEqual(plan.year, 2020)
                self.assertGreaterEqual(plan.planned_relief, Decimal(0))
        check()
