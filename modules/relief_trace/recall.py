# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
from zoneinfo import ZoneInfo

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.modules.relief.excel import Column, Layout, write_workbook
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import RecallAccessError, RecallError

TITLE = "产品召回清单"
LAYOUT = Layout(
    title=TITLE,
    sheet="召回清单",
    columns=[
        Column('sequence', "序号", type='integer'),
        Column('direction', "方向"),
        Column('party', "客户/供应商"),
        Column('document', "订单"),
        Column('shipment', "发货/收货单"),
        Column('date', "日期", type='date'),
        Column('product', "产品"),
        Column('lot', "批次"),
        Column('quantity', "数量", type='numeric'),
        Column('unit', "单位"),
        ])
DIRECTIONS = {'downstream': "下游（客户）", 'upstream': "上游（供应商）"}
# Set by the buttons only
WORKFLOW_FIELDS = {'state', 'started_by', 'started_at'}


class Recall(Workflow, ModelSQL, ModelView):
    "Recall"
    __name__ = 'relief.trace.recall'
    __string__ = "Recall"
    _rec_name = 'reference'

    _states = {'readonly': Eval('state') != 'draft'}

    reference = fields.Char("Reference", readonly=True)
    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    template = fields.Many2One(
        'product.template', "Delisted Product",
        domain=[('relief', '=', True)],
        # Prices per company (sale_point's gross price, when activated)
        context={'company': Eval('company', -1)}, depends={'company'},
        states={
            'readonly': _states['readonly'],
            'required': ~Eval('lot'),
            },
        help="Recall every lot of a product delisted from the catalogue.")
    lot = fields.Many2One(
        'stock.lot', "Lot",
        states={
            'readonly': _states['readonly'],
            'required': ~Eval('template'),
            },
        help="Recall one lot (and the gift packs packed from it).")
    reason = fields.Text("Reason", required=True, states=_states)
    started_by = fields.Many2One('res.user', "Started By", readonly=True)
    started_at = fields.Timestamp("Started At", readonly=True)
    lines = fields.One2Many(
        'relief.trace.recall.line', 'recall', "Lines", readonly=True)
    blocked_lots = fields.One2Many(
        'stock.lot', 'relief_recall', "Blocked Lots", readonly=True)
    state = fields.Selection([
            ('draft', "Draft"),
            ('started', "Started"),
            ('done', "Done"),
            ], "State", readonly=True, required=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'started'),
            ('started', 'done'),
            }
        cls._buttons.update({
                'start': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'do': {
                    'invisible': Eval('state') != 'started',
                    'depends': ['state'],
                    },
                'export': {
                    'invisible': Eval('state') == 'draft',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'draft'

    def get_rec_name(self, name):
        return self.reference or str(self.id)

    @classmethod
    def validate_fields(cls, recalls, field_names):
        super().validate_fields(recalls, field_names)
        cls.check_seed(recalls, field_names)

    @classmethod
    def check_seed(cls, recalls, field_names=None):
        "A recall starts from a delisted product or from a lot, not both"
        if field_names and not (field_names & {'template', 'lot'}):
            return
        for recall in recalls:
            if bool(recall.template) == bool(recall.lot):
                raise RecallError(gettext(
                        'relief_trace.msg_recall_seed',
                        recall=recall.rec_name))

    @classmethod
    def check_modification(cls, mode, recalls, values=None, external=False):
        super().check_modification(
            mode, recalls, values=values, external=external)
        if mode == 'delete':
            for recall in recalls:
                if recall.state != 'draft':
                    raise RecallAccessError(gettext(
                            'relief_trace.msg_recall_delete_draft',
                            recall=recall.rec_name))
        elif external:
            # The buttons write without access check; a user edits only
            # a draft's seed and reason.
            cls.check_workflow_values(mode, recalls, values)

    @classmethod
    def check_workflow_values(cls, mode, recalls, values):
        "Refuse a user's change of the state or of who started a recall"
        for recall in recalls:
            if mode == 'create':
                forged = (recall.state != 'draft' or recall.started_by
                    or recall.started_at)
            else:
                forged = values.keys() & WORKFLOW_FIELDS
            if forged:
                raise RecallAccessError(gettext(
                        'relief_trace.msg_recall_state',
                        recall=recall.rec_name))
            if mode == 'write' and recall.state != 'draft':
                raise RecallAccessError(gettext(
                        'relief_trace.msg_recall_modify_started',
                        recall=recall.rec_name))

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('reference'):
            values['reference'] = 'R' + dt.datetime.now().strftime(
                '%Y%m%d%H%M%S%f')
        return values

    @classmethod
    def copy(cls, recalls, default=None):
        default = default.copy() if default else {}
        for name in ['reference', 'started_by', 'started_at', 'lines',
                'blocked_lots']:
            default.setdefault(name, None)
        default.setdefault('state', 'draft')
        return super().copy(recalls, default=default)

    def check_delisted(self):
        "Refuse a recall of a product that is still listed"
        pool = Pool()
        Entry = pool.get('relief.catalogue.entry')
        Date = pool.get('ir.date')
        with Transaction().set_context(company=self.company.id):
            today = Date.today()
        if self.template and Entry.listed_on([self.template], today):
            raise RecallError(gettext(
                    'relief_trace.msg_recall_product_listed',
                    recall=self.rec_name, product=self.template.rec_name))

    def seed_lots(self):
        Lot = Pool().get('stock.lot')
        if self.lot:
            return [self.lot]
        return Lot.search([('product.template', '=', self.template.id)])

    @classmethod
    @ModelView.button
    @Workflow.transition('started')
    def start(cls, recalls):
        pool = Pool()
        Line = pool.get('relief.trace.recall.line')
        Lot = pool.get('stock.lot')
        for recall in recalls:
            recall.check_delisted()
        lines, to_block = [], []
        for recall in recalls:
            seeds = recall.seed_lots()
            lines += recall.trace_lines(seeds)
            blocked = Lot.browse(Lot.relief_trace_lots(seeds, 'downstream'))
            to_block.append((blocked, recall))
        Line.save(lines)
        for lots, recall in to_block:
            Lot.write(lots, {
                    'relief_blocked': True,
                    'relief_recall': recall.id,
                    })
        cls.write(recalls, {
                'started_by': Transaction().user,
                'started_at': dt.datetime.now(),
                })

    def trace_lines(self, lots):
        "Return the lines of the customers and suppliers of lots"
        pool = Pool()
        Lot = pool.get('stock.lot')
        Move = pool.get('stock.move')
        Line = pool.get('relief.trace.recall.line')
        lines = []
        for direction in ['downstream', 'upstream']:
            for move in Move.browse(Lot.relief_trace_moves(lots, direction)):
                lines.append(Line.from_move(self, move, direction))
        return lines

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def do(cls, recalls):
        pass

    @classmethod
    @ModelView.button_action('relief_trace.wizard_recall_export')
    def export(cls, recalls):
        pass

    def export_rows(self):
        rows = []
        for i, line in enumerate(self.lines, 1):
            rows.append({
                    'sequence': i,
                    'direction': DIRECTIONS[line.direction],
                    'party': line.party.rec_name if line.party else '',
                    'document': (line.document.rec_name
                        if line.document else ''),
                    'shipment': (line.shipment.rec_name
                        if line.shipment else ''),
                    'date': line.date,
                    'product': line.product.rec_name,
                    'lot': line.lot.rec_name,
                    'quantity': line.quantity,
                    'unit': line.unit.rec_name,
                    })
        return rows

    def export_workbook(self):
        "Return the recall list as .xlsx data"
        started = ''
        if self.started_at:
            started_at = self.started_at.replace(tzinfo=dt.timezone.utc)
            timezone = self.company.timezone
            if timezone:
                started_at = started_at.astimezone(ZoneInfo(timezone))
            started = started_at.strftime('%Y-%m-%d %H:%M %Z')
        header = [
            f"召回单号：{self.reference}",
            f"召回原因：{self.reason}",
            f"发起人：{self.started_by.rec_name if self.started_by else ''}"
            f"　发起时间：{started}",
            ]
        return write_workbook(LAYOUT, self.export_rows(), header_lines=header)


class RecallLine(ModelSQL, ModelView):
    "Recall Line"
    __name__ = 'relief.trace.recall.line'
    __string__ = "Recall Line"

    recall = fields.Many2One(
        'relief.trace.recall', "Recall", required=True, ondelete='CASCADE')
    direction = fields.Selection([
            ('downstream', "Customer"),
            ('upstream', "Supplier"),
            ], "Direction", required=True)
    move = fields.Many2One('stock.move', "Move", required=True,
        ondelete='RESTRICT')
    party = fields.Many2One('party.party', "Party")
    document = fields.Reference(
        "Order", selection=[
            (None, ""),
            ('sale.sale', "Sale"),
            ('purchase.purchase', "Purchase"),
            ])
    shipment = fields.Reference("Shipment", selection='get_shipments')
    date = fields.Date("Date")
    product = fields.Many2One('product.product', "Product", required=True)
    lot = fields.Many2One('stock.lot', "Lot", required=True)
    quantity = fields.Float("Quantity", digits='unit')
    unit = fields.Many2One('product.uom', "Unit")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # In __setup__: Model.__setup__ resets a class attribute
        cls.__access__.add('recall')
        cls._order = [('direction', 'ASC'), ('date', 'ASC'), ('id', 'ASC')]

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        # Start Recall makes the lines and deleting a draft recall removes
        # them, both without access check: a user changes none.
        if external and lines:
            line = lines[0]
            raise RecallAccessError(gettext(
                    'relief_trace.msg_recall_line_modify',
                    recall=line.recall.rec_name))

    @classmethod
    def get_shipments(cls):
        Move = Pool().get('stock.move')
        return [(None, "")] + Move.get_shipment()

    @classmethod
    def from_move(cls, recall, move, direction):
        "Return the line of the move"
        origin = move.origin
        document = party = None
        if direction == 'downstream' and origin and (
                origin.__name__ == 'sale.line'):
            document, party = origin.sale, origin.sale.party
        elif direction == 'upstream' and origin and (
                origin.__name__ == 'purchase.line'):
            document, party = origin.purchase, origin.purchase.party
        shipment = move.shipment
        if not party and shipment:
            party = getattr(shipment, 'customer', None) or getattr(
                shipment, 'supplier', None)
        return cls(
            recall=recall, direction=direction, move=move, party=party,
            document=document, shipment=shipment, date=move.effective_date,
            product=move.product, lot=move.lot, quantity=move.quantity,
            unit=move.unit)


class RecallExport(Wizard):
    "Export the Recall List"
    __name__ = 'relief.trace.recall.export'
    __string__ = "Export the Recall List"

    start = StateTransition()
    result = StateView(
        'relief.trace.recall.export.result',
        'relief_trace.recall_export_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_start(self):
        return 'result'

    def default_result(self, fields):
        recall = self.record
        return {
            'file': recall.export_workbook(),
            'filename': f'{TITLE}-{recall.reference}.xlsx',
            }


class RecallExportResult(ModelView):
    "Export the Recall List"
    __name__ = 'relief.trace.recall.export.result'
    __string__ = "Export the Recall List"

    file = fields.Binary("File", readonly=True, filename='filename')
    filename = fields.Char("File Name", readonly=True)
