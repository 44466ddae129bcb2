# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A lot's history as a GS1 EPCIS 2.0 document (JSON-LD).

Receiving and shipping are ObjectEvents; packing a gift pack is a
TransformationEvent (its component lots in, the pack lot out), whose
transformationID is the production.  Lots are EPC classes: the LGTIN URI
https://id.gs1.org/01/<GTIN-14>/10/<lot> when the product has a GTIN,
otherwise the lot's trace URI.  Purchases and sales are bizTransactions;
parties are not named (the document may leave the company)."""
import datetime as dt
import json

from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.wizard import Button, StateTransition, StateView, Wizard

CONTEXT = 'https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld'
CBV = 'https://ref.gs1.org/cbv/'
URN = 'urn:relief-erp:'
OFFSET = '+08:00'  # China Standard Time


def epc_class(lot, base):
    gtin = lot.product.relief_gtin
    if gtin and lot.relief_lot_number_safe:
        return f'https://id.gs1.org/01/{gtin}/10/{lot.number}'
    return lot.trace_uri_from(base)


def _time(move):
    date = move.effective_date or move.planned_date
    return f'{date.isoformat()}T00:00:00{OFFSET}'


def _quantity(move, base):
    return {
        'epcClass': epc_class(move.lot, base),
        'quantity': move.quantity,
        'uom': move.unit.symbol,
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
        'eventID': f'{URN}move:{move.id}',
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
    return {
        'type': 'TransformationEvent',
        'eventID': f'{URN}production:{production.id}',
        'eventTime': f'{date.isoformat()}T00:00:00{OFFSET}',
        'eventTimeZoneOffset': OFFSET,
        'transformationID': (
            f'{URN}production:{production.number or production.id}'),
        'bizStep': 'packing',
        'disposition': 'active',
        'inputQuantityList': [_quantity(m, base) for m in inputs],
        'outputQuantityList': [_quantity(m, base) for m in outputs],
        'bizLocation': {'id': f'{URN}location:{production.location.id}'},
        }


def document(lots):
    """Return the EPCIS document of the history of lots and of the lots
    packed from or into them"""
    pool = Pool()
    Configuration = pool.get('relief.configuration')
    Lot = pool.get('stock.lot')
    Move = pool.get('stock.move')
    base = Configuration(1).get_trace_base_url()
    lot_ids = (Lot.relief_trace_lots(lots, 'downstream')
        | Lot.relief_trace_lots(lots, 'upstream'))
    moves = Move.search([
            ('lot', 'in', list(lot_ids)),
            ('state', '=', 'done'),
            ], order=[('effective_date', 'ASC'), ('id', 'ASC')])
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
