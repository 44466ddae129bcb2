# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A lot's history as a GS1 EPCIS 2.0 document (JSON-LD).

Receiving and shipping are ObjectEvents; packing a gift pack is a
TransformationEvent (its component lots in, the pack lot out).  Lots are
EPC classes (quantityList: a lot is counted, its items have no serials).
Purchases and sales are bizTransactions; parties are not named (the
document may leave the company).

Identifiers:
- epcClass: the lot's GS1 Digital Link URI <base>/01/<GTIN-14>/10/<lot>
  with the configured public base (a custom resolver domain is allowed by
  GS1 Digital Link), the URI printed in the lot's QR code.  The EPC URN
  urn:epc:class:lgtin: is made of a GS1 company prefix and item reference,
  which only a GTIN gives: without a GTIN no GS1 identifier exists.  EPCIS
  2.0 accepts any URI as epcClass (a private identifier of the company,
  CBV 2.0 section 8.3), so such a lot is urn:relief-erp:lot:<trace code>:
  a URN, not the page's URL, unique across installations (96 random bits),
  as printed on the lot's label.
- eventID: urn:uuid:<random UUID> stored on the move or production when it
  is created, so that re-exporting gives the same id and two installations
  never share one (EPCIS 2.0 section 7.4.1).
- readPoint, bizLocation and bizTransaction are private URNs of the
  company (urn:relief-erp:...): its locations have no GLN."""
import datetime as dt
import json
import uuid

from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .stock import fill_missing

CONTEXT = 'https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld'
CBV = 'https://ref.gs1.org/cbv/'
URN = 'urn:relief-erp:'
OFFSET = '+08:00'  # China Standard Time


def new_event_id():
    return f'urn:uuid:{uuid.uuid4()}'


class EventIdMixin:
    "A globally unique EPCIS event id, given at creation and kept"
    __slots__ = ()

    relief_epcis_id = fields.Char(
        "EPCIS Event ID", readonly=True, strip=False,
        help="The identifier of the EPCIS event of this record.")

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        # Records made before the column existed get their id now
        fill_missing(cls.__table__(), 'relief_epcis_id', new_event_id)

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('relief_epcis_id'):
            values['relief_epcis_id'] = new_event_id()
        return values

    @classmethod
    def copy(cls, records, default=None):
        default = default.copy() if default is not None else {}
        default['relief_epcis_id'] = None
        return super().copy(records, default=default)


class Move(EventIdMixin, metaclass=PoolMeta):
    __name__ = 'stock.move'


class Production(EventIdMixin, metaclass=PoolMeta):
    __name__ = 'production'


def epc_class(lot, base):
    gtin = lot.product.relief_gtin
    if gtin and lot.relief_lot_number_safe:
        return lot.trace_uri_from(base)
    return f'{URN}lot:{lot.trace_code}'


def _time(move):
    date = move.effective_date or move.planned_date
    return f'{date.isoformat()}T00:00:00{OFFSET}'


def _quantity(move, base):
    quantity, code = move.unit.relief_epcis_quantity(move.quantity)
    return {
        'epcClass': epc_class(move.lot, base),
        'quantity': quantity,
        'uom': code,
        }


def _transaction(move):
    origin = move.origin
    if origin and origin.__name__ == 'purchase.line':
        return [{'type': CBV + 'BTT-po',
                'bizTransaction': URN + 'purchase:'
                + (origin.purchase.number or str(origin.purchase.id))}]
    if origin and origin.__name__ == 'sale.line':
        return [{'type': CBV + 'BTT-po',
                'bizTransaction': URN + 'sale:'
                + (origin.sale.number or str(origin.sale.id))}]
    return []


def object_event(move, base, step, disposition):
    event = {
        'type': 'ObjectEvent',
        'eventID': move.relief_epcis_id,
        'eventTime': _time(move),
        'eventTimeZoneOffset': OFFSET,
        'action': 'OBSERVE',
        'bizStep': step,
        'disposition': disposition,
        'quantityList': [_quantity(move, base)],
        'readPoint': {'id': f'{URN}location:{move.from_location.id}'},
        'bizLocation': {'id': f'{URN}location:{move.to_location.id}'},
        }
    transactions = _transaction(move)
    if transactions:
        event['bizTransactionList'] = transactions
    return event


def transformation_event(production, base):
    inputs = [m for m in production.inputs if m.state == 'done' and m.lot]
    outputs = [m for m in production.outputs if m.state == 'done' and m.lot]
    date = production.effective_date or production.planned_date
    event_id = production.relief_epcis_id
    return {
        'type': 'TransformationEvent',
        'eventID': event_id,
        'eventTime': f'{date.isoformat()}T00:00:00{OFFSET}',
        'eventTimeZoneOffset': OFFSET,
        # Derived from the event id: as unique and as stable
        'transformationID': 'urn:uuid:' + str(uuid.uuid5(
                uuid.UUID(event_id.removeprefix('urn:uuid:')),
                'transformationID')),
        'bizStep': 'packing',
        'disposition': 'active',
        'inputQuantityList': [_quantity(m, base) for m in inputs],
        'outputQuantityList': [_quantity(m, base) for m in outputs],
        'bizLocation': {'id': f'{URN}location:{production.location.id}'},
        }


def _in_history(move, upstream, downstream):
    """Whether move is an event of the history of the exported lots: what
    made or received the lots they come from (upstream), what packed or
    shipped the lots they went into (downstream).  A component lot's
    packing into another pack, or its own sale, is not in a pack's
    history: they belong to the component lot's."""
    lot = move.lot.id
    if move.production_output:
        return lot in upstream
    if move.production_input:
        return lot in downstream
    if move.from_location.type == 'supplier':
        return lot in upstream
    if move.to_location.type == 'customer':
        return lot in downstream
    return False


def document(lots):
    """Return the EPCIS document of the history of lots: their origin
    (through the lots packed into them) and where they went (through the
    lots they were packed into)"""
    pool = Pool()
    Configuration = pool.get('relief.configuration')
    Lot = pool.get('stock.lot')
    Move = pool.get('stock.move')
    base = Configuration(1).get_trace_base_url()
    downstream = Lot.relief_trace_lots(lots, 'downstream')
    upstream = Lot.relief_trace_lots(lots, 'upstream')
    moves = Move.search([
            ('lot', 'in', list(downstream | upstream)),
            ('state', '=', 'done'),
            ], order=[('effective_date', 'ASC'), ('id', 'ASC')])
    moves = [m for m in moves if _in_history(m, upstream, downstream)]
    check_units(moves)
    # Sorted by time, then by the order of the moves within a day
    events, productions = [], {}
    for move in moves:
        production = move.production_input or move.production_output
        if production:
            productions.setdefault(production.id, (move.id, production))
        elif move.from_location.type == 'supplier':
            events.append(((_time(move), move.id), object_event(
                        move, base, 'receiving', 'in_progress')))
        elif move.to_location.type == 'customer':
            events.append(((_time(move), move.id), object_event(
                        move, base, 'shipping', 'in_transit')))
    for first, production in productions.values():
        event = transformation_event(production, base)
        events.append(((event['eventTime'], first), event))
    events = [e for _, e in sorted(events, key=lambda e: e[0])]
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return {
        '@context': [CONTEXT],
        'type': 'EPCISDocument',
        'schemaVersion': '2.0',
        'creationDate': now.isoformat().replace('+00:00', 'Z'),
        'epcisBody': {'eventList': events},
        }


def check_units(moves):
    """Refuse the export when a unit has no UN/ECE code (before building
    it), naming the unit; the inputs and outputs of the productions too"""
    units = set()
    for move in moves:
        production = move.production_input or move.production_output
        if production:
            units.update(m.unit for m in production.inputs + production.outputs
                if m.state == 'done' and m.lot)
        else:
            units.add(move.unit)
    for unit in sorted(units, key=lambda u: u.id):
        unit.relief_epcis_quantity(0)


class EPCISExport(Wizard):
    "Export the History of Lots as EPCIS"
    __name__ = 'relief.trace.epcis.export'
    __string__ = "EPCIS Export"

    start = StateTransition()
    result = StateView(
        'relief.trace.epcis.export.result',
        'relief_trace.epcis_export_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_start(self):
        return 'result'

    def default_result(self, fields):
        lots = list(self.records)
        data = json.dumps(document(lots), ensure_ascii=False, indent=2)
        name = lots[0].number if len(lots) == 1 else 'lots'
        return {
            'file': data.encode('utf-8'),
            'filename': f'epcis-{name}.jsonld',
            }


class EPCISExportResult(ModelView):
    "Export the History of Lots as EPCIS"
    __name__ = 'relief.trace.epcis.export.result'
    __string__ = "EPCIS Export"

    file = fields.Binary("File", readonly=True, filename='filename')
    filename = fields.Char("File Name", readonly=True)
