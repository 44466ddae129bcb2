# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Printable A4 sheets of trace labels (product, lot, origin county, QR):
HTML that a browser prints as is (3 × 7 labels of 70 × 42.4 mm)."""
import base64
from html import escape

from trytond.pool import Pool
from trytond.report import Report

from . import qr

PER_SHEET = 21
# Labels of one shipment line at most: a label a unit, not a roll.
MAX_PER_LOT = 200

STYLE = """
@page{size:A4;margin:0}
body{margin:0;font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif}
.sheet{width:210mm;height:297mm;padding:21.5mm 0 0 0;box-sizing:border-box;
display:grid;grid-template-columns:repeat(3,70mm);
grid-auto-rows:42.4mm;page-break-after:always}
.label{box-sizing:border-box;padding:3mm;display:flex;gap:2mm;
overflow:hidden;border:0.1mm dashed #ccc}
.label img{width:34mm;height:34mm;flex:none}
.text{font-size:9pt;line-height:1.35}
.text b{display:block;font-size:10pt}
"""


def _label(lot, county, uri):
    image = base64.b64encode(qr.svg(uri)).decode()
    return (
        '<div class="label">'
        f'<img alt="QR" src="data:image/svg+xml;base64,{image}">'
        f'<div class="text"><b>{escape(lot.product.template.name)}</b>'
        f'批次：{escape(lot.number)}<br>产地：{escape(county)}<br>'
        '扫码查看产品追溯</div></div>')


def label_sheets(lots):
    "Return the HTML of the label sheets, a label for each lot in lots"
    Configuration = Pool().get('relief.configuration')
    base = Configuration(1).get_trace_base_url()
    labels = []
    cache = {}
    for lot in lots:
        if lot.id not in cache:
            county = lot.relief_county.name if lot.relief_county else "多地"
            cache[lot.id] = _label(lot, county, lot.trace_uri_from(base))
        labels.append(cache[lot.id])
    sheets = [labels[i:i + PER_SHEET]
        for i in range(0, len(labels), PER_SHEET)] or [[]]
    body = ''.join(
        '<div class="sheet">' + ''.join(s) + '</div>' for s in sheets)
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<title>追溯标签</title><style>{STYLE}</style></head>'
        f'<body>{body}</body></html>').encode('utf-8')


class LotLabel(Report):
    "Trace labels of lots: a sheet of each"
    __name__ = 'relief.trace.label.lot'
    __string__ = "Trace Labels"

    @classmethod
    def _execute(cls, records, header, data, action):
        return 'html', label_sheets(
            [l for l in records for _ in range(PER_SHEET)])


class ShipmentLabel(Report):
    "Trace labels of a shipment: a label for each unit of each traced lot"
    __name__ = 'relief.trace.label.shipment'
    __string__ = "Trace Labels of a Shipment"

    @classmethod
    def _execute(cls, records, header, data, action):
        return 'html', label_sheets(shipment_lots(records))


def shipment_lots(shipments):
    "Return the lot of each label of shipments: one a unit of a traced lot"
    lots = []
    for shipment in shipments:
        for move in shipment.outgoing_moves:
            if move.lot and move.lot.trace_code:
                count = min(max(int(move.quantity), 1), MAX_PER_LOT)
                lots.extend([move.lot] * count)
    return lots
