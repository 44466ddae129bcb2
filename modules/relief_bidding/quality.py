# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval

from .exceptions import InspectionProcessedError, QualityDelistError


class Inspection(metaclass=PoolMeta):
    __name__ = 'quality.inspection'

    @classmethod
    def check_modification(
            cls, mode, inspections, values=None, external=False):
        super().check_modification(
            mode, inspections, values=values, external=external)
        # quality lets every user write inspections (whoever runs the
        # controlled operation fills in the pending one): a processed
        # result is the lots' and the supplier's record, kept as it is.
        if external and mode == 'write':
            for inspection in inspections:
                if inspection.state != 'pending':
                    raise InspectionProcessedError(gettext(
                            'relief_bidding.msg_inspection_processed',
                            inspection=inspection.rec_name))

    @classmethod
    def pass_(cls, inspections):
        super().pass_(inspections)
        cls.relief_record_lots(inspections, 'passed')

    @classmethod
    def fail(cls, inspections):
        # The alert is opened by quality; the lots of the receipt are
        # blocked (relief_trace refuses to ship or pack a failed lot).
        super().fail(inspections)
        cls.relief_record_lots(inspections, 'failed')

    @classmethod
    def relief_record_lots(cls, inspections, result):
        "Record the result on the relief lots a supplier shipment brings"
        Lot = Pool().get('stock.lot')
        to_write = []
        for inspection in inspections:
            lots = inspection.relief_lots()
            if lots:
                date = (inspection.processed_at or dt.datetime.now()).date()
                to_write.extend((lots, {
                            'quality_inspection': inspection.id,
                            'inspection_result': result,
                            'inspection_date': date,
                            'inspection_report': inspection.number,
                            }))
        if to_write:
            Lot.write(*to_write)

    def relief_lots(self):
        "The lots of relief products of the supplier shipment inspected"
        shipment = self.origin
        if getattr(shipment, '__name__', None) != 'stock.shipment.in':
            return []
        return sorted({m.lot for m in shipment.incoming_moves
                if m.lot and m.product.template.relief}, key=lambda l: l.id)


class Alert(metaclass=PoolMeta):
    __name__ = 'quality.alert'

    relief_template = fields.Function(fields.Many2One(
            'product.template', "Relief Product",
            context={'company': Eval('company', -1)}, depends={'company'},
            help="The relief product of the failed receipt: its delisting "
            "(质量问题) is proposed."),
        'get_relief_template')
    relief_entry = fields.Many2One(
        'relief.catalogue.entry', "Delisted Entry", readonly=True,
        ondelete='RESTRICT')
    relief_recall = fields.Many2One(
        'relief.trace.recall', "Recall", readonly=True, ondelete='RESTRICT',
        help="The recall of the product's lots that have left, to start.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'relief_delist': {
                    'invisible': (~Bool(Eval('relief_template'))
                        | Bool(Eval('relief_entry'))
                        | ~Eval('state').in_(['open', 'processing'])),
                    'icon': 'tryton-cancel',
                    'depends': ['relief_template', 'relief_entry', 'state'],
                    },
                })

    def get_relief_template(self, name):
        inspection = self.origin
        if getattr(inspection, '__name__', None) != 'quality.inspection':
            return None
        if inspection.state != 'failed':
            return None
        lots = inspection.relief_lots()
        return lots[0].product.template.id if lots else None

    @classmethod
    @ModelView.button
    def relief_delist(cls, alerts):
        """Delist the product with the reason 质量问题; propose the recall
        of its lots where goods have left"""
        pool = Pool()
        Entry = pool.get('relief.catalogue.entry')
        Recall = pool.get('relief.trace.recall')
        for alert in alerts:
            template = alert.relief_template
            if not template or alert.relief_entry:
                continue
            entries = Entry.search([
                    ('template', '=', template.id),
                    ('state', '=', 'listed'),
                    ], limit=1)
            if not entries:
                raise QualityDelistError(gettext(
                        'relief_bidding.msg_alert_not_listed',
                        alert=alert.rec_name, product=template.rec_name))
            entry, = entries
            note = gettext('relief_bidding.msg_alert_delist_note',
                alert=alert.rec_name, inspection=alert.origin.rec_name)
            Entry.write([entry], {
                    'delist_reason': 'quality',
                    'delist_note': note,
                    })
            Entry.delist([entry])
            alert.relief_entry = entry
            if cls._relief_goods_left(template):
                recall = Recall(
                    company=alert.company, template=template, reason=note)
                recall.save()
                alert.relief_recall = recall
        cls.save(alerts)

    @classmethod
    def _relief_goods_left(cls, template):
        "Whether lots of template went to customers or into gift packs"
        Move = Pool().get('stock.move')
        return bool(Move.search([
                    ('product.template', '=', template.id),
                    ('lot', '!=', None),
                    ('state', '=', 'done'),
                    ['OR',
                        ('to_location.type', '=', 'customer'),
                        ('to_location.type', '=', 'production'),
                        ],
                    ], limit=1))

    @classmethod
    def copy(cls, alerts, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('relief_entry')
        default.setdefault('relief_recall')
        return super().copy(alerts, default=default)
