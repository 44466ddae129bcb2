# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import os
import re
import zipfile
from decimal import Decimal
from io import BytesIO
from unittest.mock import patch
from xml.etree import ElementTree

import polib
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._reader import WorkSheetParser

from trytond.modules.relief.excel import (
    Column, Layout, raise_errors, read_workbook, suggest, write_workbook)
from trytond.modules.relief.exceptions import ExcelError
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    TestCase, activate_module, with_transaction)

LAYOUT = Layout(
    sheet='附件2',
    title="贫困县重点扶贫产品供应商推荐名录",
    columns=[
        Column('sequence', "序号", type='integer', minimum=1),
        Column('county', "贫困县", required=True),
        Column('supplier', "供应商/销售商", required=True, key=True),
        Column('product', "商品名称", required=True, key=True),
        Column('output', "扶贫产品产量", type='numeric', minimum=0),
        Column('poor_people', "带贫人数", type='integer', minimum=0,
            required=True),
        Column('contact', "供应商/销售商联系人"),
        Column('phone', "联系方式"),
        Column('date', "推荐日期", type='date'),
        ],
    header_lines=["推荐单位（盖章）："],
    footer_lines=["填报人：", "联系方式："],
    )
HEADER = [c.string for c in LAYOUT.columns]
GOOD = [
    [1, "紫阳县", "紫阳富硒茶业有限公司", "富硒茶", 1200.5, 35, "张三",
        13800000000, dt.date(2020, 5, 1)],
    [2, "柞水县", "柞水木耳合作社", "黑木耳", 800, 120, "李四",
        "029-1234567", "2020-05-02"],
    ]
DIRECTORY = os.path.dirname(os.path.dirname(__file__))


def save(book):
    "Return the openpyxl workbook as .xlsx data"
    data = BytesIO()
    book.save(data)
    return data.getvalue()


def workbook(rows, sheet='附件2'):
    "Return .xlsx data of a filled-in form with rows below the header"
    book = Workbook()
    book.active.title = sheet
    for line in [
            [LAYOUT.title], ["推荐单位（盖章）：西安市总工会"], HEADER,
            *rows, [], ["填报人：王五", None, "联系方式：029-8888888"]]:
        book.active.append(line)
    return save(book)


class ExcelTestCase(TestCase):
    "Test the Excel toolkit"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('relief')

    def assertExcelError(self, data, *expected, **kwargs):
        "Check reading data fails listing every expected text"
        with self.assertRaises(ExcelError) as cm:
            read_workbook(data, LAYOUT, filename='名录.xlsx', **kwargs)
        message = cm.exception.message
        for text in expected:
            self.assertIn(text, message)
        return message.splitlines()

    @with_transaction()
    def test_read(self):
        "Read a valid form"
        rows = read_workbook(workbook(GOOD + [[None] * 9]), LAYOUT)

        self.assertEqual(rows, [{
                    '_row': 4, 'sequence': 1, 'county': "紫阳县",
                    'supplier': "紫阳富硒茶业有限公司", 'product': "富硒茶",
                    'output': Decimal('1200.5'), 'poor_people': 35,
                    'contact': "张三", 'phone': "13800000000",
                    'date': dt.date(2020, 5, 1),
                    }, {
                    '_row': 5, 'sequence': 2, 'county': "柞水县",
                    'supplier': "柞水木耳合作社", 'product': "黑木耳",
                    'output': Decimal(800), 'poor_people': 120,
                    'contact': "李四", 'phone': "029-1234567",
                    'date': dt.date(2020, 5, 2),
                    }])

    @with_transaction()
    def test_read_header_first_row(self):
        "Read a sheet whose header is the first row, columns in any order"
        layout = Layout(columns=LAYOUT.columns[1:4])
        book = Workbook()
        book.active.append(["商品名称 ", "供应商/\n销售商", "贫困县"])
        book.active.append(["富硒茶", "紫阳茶业", "紫阳县"])

        rows = read_workbook(save(book), layout)

        self.assertEqual(rows, [{
                    '_row': 2, 'county': "紫阳县", 'supplier': "紫阳茶业",
                    'product': "富硒茶"}])

    @with_transaction()
    def test_not_xlsx(self):
        "Refuse what is not an .xlsx workbook"
        for data in [b"not a workbook", b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1']:
            lines = self.assertExcelError(data, ".xls", ".xlsx", "名录.xlsx")
            self.assertEqual(len(lines), 2)

    @with_transaction()
    def test_too_large(self):
        "Refuse a file over the size limit"
        data = workbook(GOOD)
        size = -(-len(data) // 1024)

        self.assertExcelError(
            data, f"{size} KiB", "limit of 1 KiB", max_size=1)

    @with_transaction()
    def test_limits_from_configuration(self):
        "Take the limits from the configuration"
        Configuration = Pool().get('relief.configuration')
        config = Configuration(1)
        config.excel_max_rows = 1
        config.save()

        self.assertExcelError(
            workbook(GOOD), 'more than 1 data rows', 'stopped at row 5.')

    @with_transaction()
    def test_sheet_missing(self):
        "Name the missing sheet and the sheets found"
        self.assertExcelError(
            workbook(GOOD, sheet='Sheet1'), '"附件2"', 'Sheet1')

    @with_transaction()
    def test_header_missing(self):
        "Tell when no header row is found"
        book = load_workbook(BytesIO(workbook(GOOD)))
        book.active.delete_rows(3)

        self.assertExcelError(
            save(book), 'first 10 rows of sheet "附件2"', "带贫人数")

    @with_transaction()
    def test_columns_missing_unknown(self):
        "List the missing and unknown columns of the header row"
        book = load_workbook(BytesIO(workbook(GOOD)))
        book.active['F3'] = "备注"

        lines = self.assertExcelError(save(book))
        self.assertIn('header row 3: 带贫人数.', lines[1])
        self.assertIn('unknown columns in its header row 3: 备注.', lines[2])

    @with_transaction()
    def test_text_in_number(self):
        "Refuse text in number columns"
        rows = [r[:] for r in GOOD]
        rows[0][5] = "约100"
        rows[1][4] = "很多"

        self.assertExcelError(
            workbook(rows),
            'row 4, column "带贫人数": "约100" is not a whole number.',
            'row 5, column "扶贫产品产量": "很多" is not a number.')

    @with_transaction()
    def test_not_integer_not_date(self):
        "Refuse a fraction in an integer column and a wrong date"
        rows = [r[:] for r in GOOD]
        rows[0][5] = 2.5
        rows[1][8] = "2020-13-01"

        self.assertExcelError(
            workbook(rows),
            'row 4, column "带贫人数": "2.5" is not a whole number.',
            'row 5, column "推荐日期": "2020-13-01" is not a date')

    @with_transaction()
    def test_below_minimum(self):
        "Refuse values below the minimum"
        rows = [r[:] for r in GOOD]
        rows[1][5] = -3
        rows[1][0] = 0

        self.assertExcelError(
            workbook(rows),
            'row 5, column "带贫人数": -3 is less than the minimum of 0.',
            'row 5, column "序号": 0 is less than the minimum of 1.')

    @with_transaction()
    def test_required(self):
        "Refuse empty required values"
        rows = [r[:] for r in GOOD]
        rows[1][1] = "  "

        self.assertExcelError(
            workbook(rows), 'row 5, column "贫困县" must be filled in.')

    @with_transaction()
    def test_duplicate(self):
        "Name both rows with the same key"
        rows = [r[:] for r in GOOD] + [GOOD[0][:]]
        rows[2][0] = 3

        self.assertExcelError(
            workbook(rows),
            'rows 4 and 6 have the same 供应商/销售商, 商品名称 '
            '(紫阳富硒茶业有限公司, 富硒茶).')

    @with_transaction()
    def test_formula(self):
        "Refuse formulas"
        rows = [r[:] for r in GOOD]
        rows[1][5] = "=F4*2"

        self.assertExcelError(
            workbook(rows),
            'row 5, column "带贫人数" holds the formula "=F4*2"',
            'paste them as values')

    @with_transaction()
    def test_too_many_rows(self):
        "Refuse more rows than the limit"
        rows = [[i, "紫阳县", "茶业", str(i), 1, 1] for i in range(1, 6)]

        self.assertExcelError(
            workbook(rows), 'more than 3 data rows (the limit): '
            'reading stopped at row 7.',
            max_rows=3)

    @with_transaction()
    def test_empty(self):
        "Refuse a sheet without data rows"
        self.assertExcelError(
            workbook([[None] * 9, []]), 'no data below its header row 3.')

    @with_transaction()
    def test_one_bad_row(self):
        "Return nothing when one row among good ones is bad"
        rows = [[i, "紫阳县", "茶业", str(i), 1, 1] for i in range(1, 50)]
        rows[30][1] = None

        lines = self.assertExcelError(
            workbook(rows), 'row 34, column "贫困县" must be filled in.')
        self.assertEqual(len(lines), 2)
        self.assertIn('"名录.xlsx"', lines[0])
        self.assertIn('(1):', lines[0])

    @with_transaction()
    def test_every_error(self):
        "Report every error, up to the limit"
        rows = [[i, None, "茶业", str(i), -1, 1] for i in range(1, 151)]

        lines = self.assertExcelError(workbook(rows), 'errors (300):')
        self.assertEqual(len(lines), 1 + 100 + 1)
        self.assertIn('row 4, column "贫困县"', lines[1])
        self.assertIn('row 4, column "扶贫产品产量"', lines[2])
        self.assertIn('… and 200 more errors.', lines[-1])

    @with_transaction()
    def test_write_layout(self):
        "Write the title, header lines, header, data and footer lines"
        rows = [{'county': "紫阳县", 'poor_people': 35}, {'county': "柞水县"}]

        data = write_workbook(
            LAYOUT, rows, header_lines=["推荐单位（盖章）：西安市总工会"])

        sheet = load_workbook(BytesIO(data))['附件2']
        self.assertEqual(
            [str(r) for r in sheet.merged_cells.ranges], ['A1:I1'])
        self.assertEqual(sheet['A1'].value, LAYOUT.title)
        self.assertTrue(sheet['A1'].font.b)
        self.assertEqual(sheet['A1'].alignment.horizontal, 'center')
        self.assertEqual(sheet['A2'].value, "推荐单位（盖章）：西安市总工会")
        self.assertEqual([c.value for c in sheet[3]], HEADER)
        self.assertTrue(sheet['B3'].font.b)
        self.assertTrue(sheet['B3'].alignment.wrap_text)
        self.assertEqual(sheet['B3'].border.left.style, 'thin')
        self.assertEqual(
            [c.value for c in sheet[4]][:6],
            [1, "紫阳县", None, None, None, 35])
        self.assertEqual(sheet['A5'].value, 2)
        self.assertEqual(sheet['B5'].border.bottom.style, 'thin')
        self.assertIsNone(sheet['A6'].value)
        self.assertEqual(sheet['A7'].value, "填报人：")
        self.assertEqual(sheet['A8'].value, "联系方式：")
        self.assertGreater(
            sheet.column_dimensions['C'].width,
            sheet.column_dimensions['A'].width)

    @with_transaction()
    def test_write_formula(self):
        "Write formulas as text and numbers as numbers"
        rows = [{
                'county': "=HYPERLINK(\"http://x\")", 'supplier': "+1",
                'product': "-1", 'contact': "@SUM(A1)", 'phone': "\tx",
                'output': Decimal('-1.5'), 'poor_people': 3,
                }]

        data = write_workbook(LAYOUT, rows)

        sheet = load_workbook(BytesIO(data))['附件2']
        self.assertEqual(
            [c.value for c in sheet[4]][1:8],
            ["=HYPERLINK(\"http://x\")", "+1", "-1", -1.5, 3,
                "@SUM(A1)", "\tx"])
        self.assertEqual(
            [c.data_type for c in sheet[4]][1:8],
            ['s', 's', 's', 'n', 'n', 's', 's'])
        # Text cells as typed with an apostrophe in Excel, never shown
        self.assertEqual(
            [c.quotePrefix for c in sheet[4]][1:8],
            [True, True, True, False, False, True, True])

    @with_transaction()
    def test_round_trip(self):
        "Read back what was written"
        rows = read_workbook(workbook(GOOD), LAYOUT)
        rows.append({
                '_row': 6, 'sequence': 3, 'county': "=1+1",
                'supplier': "-", 'product': "@茶", 'output': Decimal('0.1'),
                'poor_people': 0, 'contact': None, 'phone': "+86 29 1234",
                'date': None})

        data = write_workbook(LAYOUT, rows)

        self.assertEqual(read_workbook(data, LAYOUT), rows)

    def test_translations(self):
        "Translate every message with the same placeholders"
        root = ElementTree.parse(os.path.join(DIRECTORY, 'message.xml'))
        messages = {
            r.get('id'): r.find('field').text
            for r in root.iter('record')
            if r.get('id').startswith('msg_excel_')}
        po = polib.pofile(os.path.join(DIRECTORY, 'locale', 'zh_CN.po'))
        translations = {
            e.msgctxt.split(':')[-1]: e for e in po
            if e.msgctxt and 'msg_excel_' in e.msgctxt}
        self.assertEqual(set(translations), set(messages))
        for id_, text in messages.items():
            entry = translations[id_]
            self.assertEqual(entry.msgid, text)
            self.assertEqual(
                sorted(re.findall(r'%\(\w+\)s', entry.msgstr)),
                sorted(re.findall(r'%\(\w+\)s', text)), id_)


QUANTITY = Column('output', "扶贫产品产量", type='quantity', minimum=0,
    digits=2)
PHONE = Column('phone', "联系方式", type='phone')


class ExcelRulesTestCase(TestCase):
    "Test the toolkit's rules on values and bounds"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('relief')

    def read(self, values, column, **kwargs):
        "Return the values read in column or the error lines"
        book = Workbook()
        book.active.append([column.string])
        for value in values:
            book.active.append([value])
        errors = []
        rows = read_workbook(
            save(book), Layout([column]), errors=errors, **kwargs)
        return [r.get(column.name) for r in rows], errors

    @with_transaction()
    def test_quantity(self):
        "Read quantities with their unit, 万 being 10,000"
        values, errors = self.read(
            ["500吨", "20000箱", "3万斤", "1.5万公斤", " 2 袋", 12.5, "７万",
                "1,200kg"], QUANTITY)

        self.assertEqual(errors, [])
        self.assertEqual(values, [
                (500, '吨'), (20000, '箱'), (30000, '斤'), (15000, '公斤'),
                (2, '袋'), (Decimal('12.5'), None), (70000, None),
                (1200, 'kg')])

    @with_transaction()
    def test_quantity_refused(self):
        "Refuse what is not a quantity, negative or too precise"
        values, errors = self.read(
            ["很多", "约500吨", "1e30吨", "-3吨", "1.234吨", "9999999999999吨"],
            QUANTITY)

        self.assertEqual([e[0].split('.')[1] for e in errors], [
                'msg_excel_not_quantity', 'msg_excel_not_quantity',
                'msg_excel_not_quantity',
                'msg_excel_below_minimum', 'msg_excel_digits',
                'msg_excel_above_maximum'])

    @with_transaction()
    def test_phone(self):
        "Accept mobile and landline numbers with area code and extension"
        good = [
            "13800000000", 13912345678, "+86 138 0000 0000",
            "029-88880001", "0913-2345678", "029-88880001-123",
            "029 8888 0001转8001", "+86 029 8888 0001", "400-123-4567",
            "13800000000/029-88880001"]
        bad = ["abc", "12345", "8888000", "29-88880001", "1380000000",
            "029-888800012345678"]

        values, errors = self.read(good + bad, PHONE)

        self.assertEqual(values[:len(good)], [
                str(v) for v in good])
        self.assertEqual(
            [e[1]['row'] for e in errors],
            list(range(len(good) + 2, len(good) + len(bad) + 2)))
        self.assertTrue(
            all(e[0] == 'relief.msg_excel_not_phone' for e in errors))

    @with_transaction()
    def test_too_long_quoted(self):
        "Refuse a cell longer than its column, quoting only its start"
        column = Column('supplier', "供应商/销售商", size=100)
        with self.assertRaises(ExcelError) as cm:
            read_workbook(
                workbook([[1, "紫阳县", "茶" * 32767, "茶", 1, 1]]), LAYOUT)
        message = cm.exception.message
        self.assertIn('longer than 200 characters', message)
        self.assertLess(len(message), 500)

        values, errors = self.read(["x" * 101, "x" * 100], column)
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0][1]['value'], "x" * 30 + "…")

    @with_transaction()
    def test_unpacked_too_large(self):
        "Refuse a workbook whose parts unpack beyond the limit unparsed"
        book = Workbook()
        book.active.append(["贫困县"])
        book.active.append(["县" * 300_000])
        data = save(book)
        self.assertLess(len(data), 6 * 1024)

        with self.assertRaises(ExcelError) as cm:
            read_workbook(data, Layout([LAYOUT.columns[1]]), max_size=6)
        self.assertIn('unpacks to', cm.exception.message)
        self.assertIn('limit of 24 KiB', cm.exception.message)

    @with_transaction()
    def test_stop_at_row_limit(self):
        "Stop reading at the row limit, not at the end of the file"
        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(["贫困县"])
        for _ in range(50_000):
            sheet.append(["紫阳县"])
        data = save(book)

        # Count the rows openpyxl parses: a scan of the whole sheet shows
        parsed = []
        parse_row = WorkSheetParser.parse_row

        def counting(parser, row):
            parsed.append(row)
            return parse_row(parser, row)
        with patch.object(WorkSheetParser, 'parse_row', counting), \
                self.assertRaises(ExcelError) as cm:
            read_workbook(data, Layout([LAYOUT.columns[1]]), max_rows=10)
        self.assertLess(len(parsed), 100)
        self.assertIn('reading stopped at row 12.', cm.exception.message)

    @with_transaction()
    def test_blank_rows_end(self):
        "End the data after many blank rows"
        book = Workbook()
        book.active.append(["贫困县"])
        book.active.append(["紫阳县"])
        book.active.cell(5000, 1, "柞水县")

        rows = read_workbook(save(book), Layout([LAYOUT.columns[1]]))

        self.assertEqual([r['county'] for r in rows], ["紫阳县"])

    @with_transaction()
    def test_errors_collected(self):
        "Return rows and errors for the caller to add its own"
        errors = []
        rows = read_workbook(workbook([GOOD[0], [2, None, "x", "y", 1, 1]]),
            LAYOUT, errors=errors)

        self.assertEqual(len(rows), 2)
        self.assertEqual(errors, [('relief.msg_excel_required', {
                        'sheet': '附件2', 'row': 5, 'column': '贫困县'})])
        self.assertTrue(rows[1]['_error'])
        with self.assertRaises(ExcelError):
            raise_errors(errors, '名录.xlsx')

    @with_transaction()
    def test_lines(self):
        "Return the lines above the header"
        lines = []
        read_workbook(workbook(GOOD), LAYOUT, lines=lines)

        self.assertEqual(lines, [LAYOUT.title, "推荐单位（盖章）：西安市总工会"])

    @with_transaction()
    def test_damaged(self):
        "Refuse a workbook whose sheet cannot be parsed"
        book = Workbook()
        book.active.append(["贫困县"])
        book.active.append(["紫阳县"])
        data = BytesIO()
        book.save(data)
        source = zipfile.ZipFile(BytesIO(data.getvalue()))
        damaged = BytesIO()
        with zipfile.ZipFile(damaged, 'w') as target:
            for info in source.infolist():
                part = source.read(info.filename)
                # A shared string that does not exist
                part = re.sub(
                    rb'<c r="A2" t="inlineStr">.*?</c>',
                    b'<c r="A2" t="s"><v>7</v></c>', part)
                target.writestr(info.filename, part)

        with self.assertRaises(ExcelError) as cm:
            read_workbook(damaged.getvalue(), Layout([LAYOUT.columns[1]]))
        self.assertIn('damaged', cm.exception.message)

    @with_transaction()
    def test_suggest(self):
        "Suggest the closest name"
        self.assertIn('"紫阳县"', suggest("紫杨县", ["紫阳县", "柞水县"]))
        self.assertEqual(suggest("北京", ["紫阳县", "柞水县"]), '')


def damage_sheet(data, cut):
    "Return data with the XML of its sheet damaged at cut"
    source = zipfile.ZipFile(BytesIO(data))
    result = BytesIO()
    with zipfile.ZipFile(result, 'w') as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if info.filename == 'xl/worksheets/sheet1.xml':
                cut %= len(part)
                part = part[:cut] + b'<v>99</v>"<' + part[cut + 5:]
            target.writestr(info.filename, part)
    return result.getvalue()


class ExcelPropertyTestCase(TestCase):
    "Read random sheets with random damage"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        activate_module('relief')

    @with_transaction()
    def test_random_sheets(self):
        "Only ExcelError is raised, and only valid rows are returned"
        from hypothesis import HealthCheck, given, settings
        from hypothesis import strategies as st

        cell = st.one_of(
            st.none(), st.integers(-10 ** 40, 10 ** 40),
            st.floats(allow_nan=True, allow_infinity=True),
            st.text(max_size=40), st.sampled_from([
                    "500吨", "3万斤", "=1+1", "+86 029 8888 0001", "约",
                    "1e999999999", "紫阳县", "13800000000", "x" * 300]),
            st.dates())
        rows = st.lists(st.lists(cell, max_size=11), max_size=30)
        layout = Layout(LAYOUT.columns[:4] + [
                QUANTITY, LAYOUT.columns[5], PHONE, LAYOUT.columns[8]])

        @settings(max_examples=60, deadline=None,
            suppress_health_check=list(HealthCheck))
        @given(rows, st.integers(0, 4), st.integers(0, 2000))
        def check(rows, damage, cut):
            book = Workbook()
            sheet = book.active
            for line in [[LAYOUT.title], [c.string for c in layout.columns],
                    *rows]:
                sheet.append([
                        ILLEGAL_CHARACTERS_RE.sub('', v)
                        if isinstance(v, str) else v for v in line])
            data = save(book)
            if damage == 1:
                data = data[:cut]
            elif damage == 2:
                data = data[:cut] + bytes(10) + data[cut + 10:]
            elif damage == 3:
                data = damage_sheet(data, cut)
            try:
                result = read_workbook(data, layout, max_rows=20)
            except ExcelError as error:
                self.assertLess(len(error.message), 100_000)
                return
            for row in result:
                self.assertNotIn('_error', row)
                for column in layout.columns:
                    value = row.get(column.name)
                    if column.required:
                        self.assertIsNotNone(value)
        check()
