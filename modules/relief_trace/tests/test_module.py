# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
import re
import zlib

from trytond.model.exceptions import SQLConstraintError
from trytond.modules.relief_trace import qr, routes
from trytond.modules.relief_trace.exceptions import UomCodeError
from trytond.modules.relief_trace.stock import new_trace_code
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


class ReliefTraceTestCase(ModuleTestCase):
    "Test Relief Trace module"
    module = 'relief_trace'
    extras = ['quality']

    def test_trace_code(self):
        "Trace codes are 96 random bits, URL-safe, of the route's pattern"
        codes = {new_trace_code() for _ in range(1000)}
        self.assertEqual(len(codes), 1000)
        for code in codes:
            self.assertRegex(code, routes.TRACE_CODE)
            self.assertRegex(code, re.compile(r'^[A-Za-z0-9_-]+$'))

    def test_gtin_check_digit(self):
        "The GS1 check digit of a GTIN-14"
        self.assertTrue(routes.gtin_valid('06901234567892'))
        self.assertFalse(routes.gtin_valid('06901234567893'))

    def test_qr_png(self):
        "The PNG is a valid image of the QR matrix"
        data = qr.png('https://trace.example.invalid/t/AAAAAAAAAAAAAAAA')
        self.assertEqual(data[:8], b'\x89PNG\r\n\x1a\n')
        width = int.from_bytes(data[16:20], 'big')
        start = data.index(b'IDAT') + 4
        length = int.from_bytes(data[start - 8:start - 4], 'big')
        raw = zlib.decompress(data[start:start + length])
        self.assertEqual(len(raw), width * (1 + (width + 7) // 8))

    def test_qr_svg(self):
        "The SVG is an SVG document"
        self.assertIn(b'<svg', qr.svg('https://trace.example.invalid/t/x'))

    @with_transaction()
    def test_recall_line_access(self):
        "A recall line takes its recall's access and record rules"
        pool = Pool()
        RecallLine = pool.get('relief.trace.recall.line')
        self.assertIn('recall', RecallLine.__access__)

    @with_transaction()
    def test_uom_un_codes(self):
        "Units have their Rec 20 code; jin in kilograms; a box needs its own"
        pool = Pool()
        Uom = pool.get('product.uom')
        Data = pool.get('ir.model.data')

        def uom(xml_id):
            return Uom(Data.get_id(*xml_id.split('.')))
        self.assertEqual(uom('product.uom_unit').relief_un_code, 'H87')
        self.assertEqual(
            uom('relief_certification.uom_bottle').relief_un_code, 'XBO')
        self.assertEqual(
            uom('relief_certification.uom_jin').relief_epcis_quantity(10),
            (5, 'KGM'))
        unit = uom('product.uom_unit')
        box, = Uom.create([{
                    'name': "盒", 'symbol': "盒", 'category': unit.category.id,
                    'factor': 1, 'rate': 1}])
        with self.assertRaises(UomCodeError):
            box.relief_epcis_quantity(1)
        with self.assertRaises(UomCodeError):
            Uom.write([box], {'relief_un_code': 'box'})
        Uom.write([box], {'relief_un_code': 'XBX'})
        self.assertEqual(box.relief_epcis_quantity(2), (2, 'XBX'))

    @with_transaction()
    def test_trace_code_unique(self):
        "Two lots cannot share a trace code (a database constraint)"
        pool = Pool()
        Lot = pool.get('stock.lot')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        unit, = Uom.search([('name', '=', "Unit")])
        template, = Template.create([{
                    'name': "Kiwi", 'type': 'goods', 'default_uom': unit.id,
                    'products': [('create', [{}])],
                    }])
        product, = template.products
        lot, other = Lot.create([
                {'number': '1', 'product': product.id},
                {'number': '2', 'product': product.id},
                ])
        self.assertNotEqual(lot.trace_code, other.trace_code)
        with self.assertRaises(SQLConstraintError):
            Lot.write([other], {'trace_code': lot.trace_code})

    @with_transaction()
    def test_lot_quality_inspection(self):
        "A lot takes its inspection from Tryton's quality inspection"
        pool = Pool()
        Lot = pool.get('stock.lot')
        Inspection = pool.get('quality.inspection')
        inspection = Inspection(
            state='failed', number='QI-0001', reference='SX-QC-0917',
            processed_at=dt.datetime(2024, 9, 17, 3, 0))
        lot = Lot(quality_inspection=inspection)
        lot.on_change_quality_inspection()
        self.assertEqual(lot.inspection_result, 'failed')
        self.assertEqual(lot.inspection_date, dt.date(2024, 9, 17))
        self.assertEqual(lot.inspection_report, 'SX-QC-0917')


del ModuleTestCase
