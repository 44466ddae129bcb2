# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Printed documents of the trace: the recall notice to each customer
reached and the A4 sheets of trace labels, as PDF (OpenDocument templates,
see relief.document)."""
from types import SimpleNamespace

from trytond.modules.relief.document import DocumentReport
from trytond.pool import Pool

from . import qr
from .label import PER_SHEET, shipment_lots

COLUMNS = 3
QR_SIZE = ('34mm', '34mm')


class RecallNotice(DocumentReport):
    "Recall notice (召回通知): a page for each customer the recall reached"
    __name__ = 'relief.trace.recall.notice'

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context['notices'] = cls.notices
        return context

    @classmethod
    def notices(cls, recall):
        "Return a notice for each customer of the recall's downstream lines"
        notices = {}
        for line in recall.lines:
            if line.direction != 'downstream' or not line.party:
                continue
            notice = notices.get(line.party)
            if notice is None:
                address = line.party.address_get()
                notice = notices[line.party] = SimpleNamespace(
                    party=line.party,
                    address=address.full_address.replace('\n', ' ')
                    if address else '',
                    lines=[])
            notice.lines.append(line)
        return list(notices.values())


class _LabelSheet(DocumentReport):

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context['rows'] = label_rows(cls.lots(records))
        return context

    @classmethod
    def lots(cls, records):
        raise NotImplementedError


class LotLabelSheet(_LabelSheet):
    "Trace labels of lots as PDF: a sheet of each"
    __name__ = 'relief.trace.label_sheet.lot'

    @classmethod
    def lots(cls, records):
        return [l for l in records for _ in range(PER_SHEET)]


class ShipmentLabelSheet(_LabelSheet):
    "Trace labels of shipments as PDF: a label for each unit of a traced lot"
    __name__ = 'relief.trace.label_sheet.shipment'

    @classmethod
    def lots(cls, records):
        return shipment_lots(records)


def label_rows(lots):
    """Return the rows of labels of lots, COLUMNS a row (the last filled
    with None): product, lot, origin county and QR code (PNG) of each"""
    Configuration = Pool().get('relief.configuration')
    base = Configuration(1).get_trace_base_url()
    cache = {}
    labels = []
    for lot in lots:
        if lot.id not in cache:
            cache[lot.id] = SimpleNamespace(
                product=lot.product.template.name,
                number=lot.number,
                county=lot.relief_county.name if lot.relief_county
                else "多地",
                qr=(qr.png(lot.trace_uri_from(base)), 'image/png')
                + QR_SIZE)
        labels.append(cache[lot.id])
    labels += [None] * (-len(labels) % COLUMNS)
    return [labels[i:i + COLUMNS] for i in range(0, len(labels), COLUMNS)]
