# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import secrets

from sql import Cast, Expression, Literal, Null, Select, Union, With
from sql.conditionals import Case, Coalesce

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelView, Unique, fields
from trytond.model.fields import SQL_OPERATORS
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from . import qr
from .exceptions import LotAccessError, LotBlockedError, LotOriginError

# 12 random bytes: 96 bits, 16 URL-safe characters
TRACE_CODE_BYTES = 12
TRACE_CODE_LENGTH = 16


def fill_missing(table, name, new_value):
    "Give each row of table whose column name is NULL a new_value()"
    cursor = Transaction().connection.cursor()
    column = getattr(table, name)
    cursor.execute(*table.select(table.id, where=column == Null))
    ids = [i for i, in cursor]
    # A statement per slice of rows
    for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS // 2):
        values = [(i, new_value()) for i in sub_ids]
        cursor.execute(*table.update(
                [column], [Case(*((table.id == i, v) for i, v in values))],
                where=SQL_OPERATORS['in'](table.id, [i for i, _ in values])))


class _Constant(Expression):
    """A constant string of the code written in the SQL, not as a parameter:
    the trace queries are prepared by the server, and a generic plan can use
    the partial index on done moves only if 'done' is in the query"""
    __slots__ = ('value',)

    def __init__(self, value):
        assert value.isidentifier(), value
        self.value = value

    def __str__(self):
        return f"'{self.value}'"

    @property
    def params(self):
        return ()


class _Slot:
    "The place of a lot id in the parameters of a kept trace query"
    __slots__ = ('index',)

    def __init__(self, index):
        self.index = index

    @classmethod
    def fill(cls, param, values):
        "Return param with the values in place of its slots"
        if isinstance(param, cls):
            return values[param.index]
        if isinstance(param, (list, tuple)):
            return type(param)(cls.fill(p, values) for p in param)
        return param


def new_trace_code():
    return secrets.token_urlsafe(TRACE_CODE_BYTES)


class Lot(metaclass=PoolMeta):
    __name__ = 'stock.lot'

    relief_traced = fields.Function(
        fields.Boolean("Traced"), 'on_change_with_relief_traced',
        searcher='search_relief_traced')
    relief_supplier = fields.Many2One(
        'party.party', "Supplier", ondelete='RESTRICT',
        states={'invisible': ~Eval('relief_traced')},
        help="The certified supplier the lot was bought from.")
    relief_county = fields.Many2One(
        'country.subdivision', "Origin County", ondelete='RESTRICT',
        domain=[('relief_level', '=', 'county')],
        states={'invisible': ~Eval('relief_traced')})
    relief_base = fields.Char(
        "Base or Cooperative",
        states={'invisible': ~Eval('relief_traced')},
        help="The production base or cooperative where it was grown or "
        "made.")
    production_date = fields.Date(
        "Production or Harvest Date",
        states={'invisible': ~Eval('relief_traced')})
    poor_households = fields.Integer(
        "Poor Households Involved",
        states={'invisible': ~Eval('relief_traced')},
        help="The poor households whose work or produce went into the lot.")
    inspection_date = fields.Date(
        "Inspection Date", states={'invisible': ~Eval('relief_traced')})
    inspection_result = fields.Selection([
            (None, ""),
            ('passed', "Passed"),
            ('failed', "Failed"),
            ], "Inspection Result",
        states={'invisible': ~Eval('relief_traced')})
    inspection_report = fields.Char(
        "Inspection Report Number",
        states={'invisible': ~Eval('relief_traced')})
    trace_code = fields.Char(
        "Trace Code", readonly=True, strip=False,
        help="The random public code of the lot's trace page.")
    trace_uri = fields.Function(
        fields.Char("Trace URI"), 'get_trace_uri')
    qr_png = fields.Function(
        fields.Binary("QR Code (PNG)", filename='qr_png_name'), 'get_qr')
    qr_png_name = fields.Function(
        fields.Char("QR Code (PNG) Name"), 'get_qr_name')
    qr_svg = fields.Function(
        fields.Binary("QR Code (SVG)", filename='qr_svg_name'), 'get_qr')
    qr_svg_name = fields.Function(
        fields.Char("QR Code (SVG) Name"), 'get_qr_name')
    relief_packed_from = fields.Function(fields.Many2Many(
            'stock.lot', None, None, "Packed From",
            help="The lots packed into this gift pack lot."),
        'get_relief_packing')
    relief_packed_into = fields.Function(fields.Many2Many(
            'stock.lot', None, None, "Packed Into",
            help="The gift pack lots this lot was packed into."),
        'get_relief_packing')
    relief_blocked = fields.Boolean(
        "Blocked", readonly=True,
        help="A recalled lot can no longer be shipped, sold or packed.")
    relief_recall = fields.Many2One(
        'relief.trace.recall', "Recall", readonly=True, ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('trace_code_unique', Unique(t, t.trace_code),
                'relief_trace.msg_lot_trace_code_unique'),
            ]
        cls._sql_indexes.update({
                Index(t,
                    (t.relief_blocked, Index.Equality(cardinality='low')),
                    where=t.relief_blocked == True),  # noqa: E712
                # A search on a Char that is not required compares
                # COALESCE(column, ''): the unique index is of no use to it
                Index(t, (Coalesce(t.trace_code, ''), Index.Equality())),
                })
        cls._buttons.update({
                'relief_epcis': {},
                })

    @classmethod
    def __post_setup__(cls):
        super().__post_setup__()
        # The SQL of the trace queries, by kind, direction and seed count
        cls._relief_trace_sql = {}

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        # Lots made before the module was activated get their code now
        fill_missing(cls.__table__(), 'trace_code', new_trace_code)

    @classmethod
    def default_relief_blocked(cls):
        return False

    @fields.depends('product')
    def on_change_with_relief_traced(self, name=None):
        return bool(self.product and self.product.relief_traced)

    @classmethod
    def search_relief_traced(cls, name, clause):
        _, operator, value = clause[:3]
        if bool(value) == (operator == '='):
            return ['OR',
                ('product.template.relief', '=', True),
                ('product.boms', 'where', []),
                ]
        return [
            ('product.template.relief', '!=', True),
            ('product.boms', 'not where', []),
            ]

    @fields.depends('relief_supplier', 'production_date')
    def on_change_relief_supplier(self):
        "Take the county and households from the supplier's certificate"
        pool = Pool()
        Certification = pool.get('relief.supplier.certification')
        Date = pool.get('ir.date')
        if not self.relief_supplier:
            return
        date = self.production_date or Date.today()
        certification = Certification.find_valid(
            [self.relief_supplier], date).get(self.relief_supplier.id)
        if certification:
            self.relief_county = certification.county

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('trace_code'):
            values['trace_code'] = new_trace_code()
        return values

    @classmethod
    def create(cls, vlist):
        transaction = Transaction()
        if transaction.user and transaction.check_access:
            cls.check_trace_code_given(vlist)
        return super().create(vlist)

    @classmethod
    def check_trace_code_given(cls, vlist):
        "Refuse a user's lot that comes with its own trace code"
        for values in vlist:
            if values.get('trace_code'):
                raise LotAccessError(gettext(
                        'relief_trace.msg_lot_trace_code_create',
                        lot=values.get('number') or ''))

    @classmethod
    def check_modification(cls, mode, lots, values=None, external=False):
        super().check_modification(
            mode, lots, values=values, external=external)
        # A recall blocks its lots and creation gives the trace code, both
        # without access check: a user changes neither.
        if external and mode == 'create':
            cls.check_relief_not_blocked(lots)
        elif external and mode == 'write':
            cls.check_trace_code_kept(lots, values)
            cls.check_relief_recall_kept(lots, values)

    @classmethod
    def check_trace_code_kept(cls, lots, values):
        if 'trace_code' not in values:
            return
        for lot in lots:
            if lot.trace_code != values['trace_code']:
                raise LotAccessError(gettext(
                        'relief_trace.msg_lot_trace_code_modify',
                        lot=lot.rec_name))

    @classmethod
    def check_relief_not_blocked(cls, lots):
        "Refuse a lot created blocked or in a recall"
        for lot in lots:
            if lot.relief_blocked or lot.relief_recall:
                raise LotAccessError(gettext(
                        'relief_trace.msg_lot_block', lot=lot.rec_name))

    @classmethod
    def check_relief_recall_kept(cls, lots, values):
        "Refuse a lot blocked, unblocked or taken out of its recall by hand"
        if not values.keys() & {'relief_blocked', 'relief_recall'}:
            return
        for lot in lots:
            recall = lot.relief_recall.id if lot.relief_recall else None
            kept = (bool(lot.relief_blocked), recall)
            wanted = (
                bool(values.get('relief_blocked', kept[0])),
                values.get('relief_recall', recall))
            if kept == wanted:
                continue
            if any(kept):
                raise LotAccessError(gettext(
                        'relief_trace.msg_lot_unblock',
                        lot=lot.rec_name,
                        recall=lot.relief_recall.rec_name
                        if lot.relief_recall else ''))
            raise LotAccessError(gettext(
                    'relief_trace.msg_lot_block', lot=lot.rec_name))

    @classmethod
    def copy(cls, lots, default=None):
        default = default.copy() if default else {}
        default.setdefault('trace_code', None)
        default.setdefault('relief_blocked', False)
        default.setdefault('relief_recall', None)
        return super().copy(lots, default=default)

    @classmethod
    def validate_fields(cls, lots, field_names):
        super().validate_fields(lots, field_names)
        cls.check_poor_households(lots, field_names)
        cls.check_inspection_date(lots, field_names)

    @classmethod
    def check_poor_households(cls, lots, field_names=None):
        if field_names and 'poor_households' not in field_names:
            return
        for lot in lots:
            if lot.poor_households is not None and lot.poor_households < 0:
                raise LotOriginError(gettext(
                        'relief_trace.msg_lot_poor_households',
                        lot=lot.rec_name, value=lot.poor_households))

    @classmethod
    def check_inspection_date(cls, lots, field_names=None):
        if field_names and not (
                field_names & {'inspection_date', 'production_date'}):
            return
        for lot in lots:
            if (lot.inspection_date and lot.production_date
                    and lot.inspection_date < lot.production_date):
                raise LotOriginError(gettext(
                        'relief_trace.msg_lot_inspection_date',
                        lot=lot.rec_name,
                        inspection_date=lot.inspection_date,
                        production_date=lot.production_date))

    @classmethod
    def get_trace_uri(cls, lots, name):
        Configuration = Pool().get('relief.configuration')
        base = Configuration(1).get_trace_base_url()
        return {l.id: l.trace_uri_from(base) for l in lots}

    def trace_uri_from(self, base):
        "The GS1 Digital Link URI of the lot, or its trace code URI"
        gtin = self.product.relief_gtin
        if gtin and self.relief_lot_number_safe:
            return f'{base}/01/{gtin}/10/{self.number}'
        if self.trace_code:
            return f'{base}/t/{self.trace_code}'

    @property
    def relief_lot_number_safe(self):
        "Whether the lot number is a GS1 AI (10): up to 20 URI-safe chars"
        from .routes import LOT_NUMBER
        return bool(self.number and LOT_NUMBER.match(self.number))

    @classmethod
    def get_qr(cls, lots, name):
        make = qr.png if name == 'qr_png' else qr.svg
        return {l.id: make(l.trace_uri) if l.trace_uri else None
            for l in lots}

    def get_qr_name(self, name):
        extension = 'png' if name == 'qr_png_name' else 'svg'
        return f'{self.product.rec_name}-{self.number}.{extension}'

    @classmethod
    @ModelView.button_action('relief_trace.wizard_epcis_export')
    def relief_epcis(cls, lots):
        pass

    @classmethod
    def relief_public_data(cls, lot):
        """Return the facts the public trace page shows of lot: origin,
        certificate, inspection, warnings; for a gift pack each component.
        Only these facts: never a customer, member, household or phone.
        None when there is no page: the product is not traced, or the lot
        has no origin, no components and no recall to show."""
        if not lot.product.relief_traced:
            return None
        components = cls.relief_components([lot])[lot.id]
        if not (components or lot.relief_supplier or lot.relief_county
                or lot.relief_blocked):
            return None
        data = cls._relief_public_origin([lot] + components)
        result = data[lot.id]
        result['components'] = [data[c.id] for c in components]
        if components:
            result['recalled'] |= any(
                c['recalled'] for c in result['components'])
            result['delisted'] |= any(
                c['delisted'] for c in result['components'])
        return result

    @classmethod
    def _relief_public_origin(cls, lots):
        pool = Pool()
        Certification = pool.get('relief.supplier.certification')
        ProductCertification = pool.get('relief.product.certification')
        Entry = pool.get('relief.catalogue.entry')
        Date = pool.get('ir.date')
        today = Date.today()
        templates = {l.product.template for l in lots}
        listed = Entry.listed_on(
            [t for t in templates if t.relief], today)
        result = {}
        for lot in lots:
            template = lot.product.template
            county = lot.relief_county
            date = lot.production_date or today
            certificate = catalogue_number = None
            if lot.relief_supplier:
                certifications = Certification.search([
                        ('supplier', '=', lot.relief_supplier.id),
                        ('state', 'in', ['certified', 'suspended',
                                'expired']),
                        ('valid_from', '<=', date),
                        ('valid_to', '>=', date),
                        ], limit=1)
                if certifications:
                    c, = certifications
                    certificate = {
                        'number': c.number, 'office': c.office,
                        'valid_from': c.valid_from, 'valid_to': c.valid_to,
                        'poor_people': c.poor_people,
                        }
                products = ProductCertification.search([
                        ('template', '=', template.id),
                        ('supplier', '=', lot.relief_supplier.id),
                        ], limit=1, order=[('valid_to', 'DESC')])
                if products:
                    catalogue_number = products[0].catalogue_number
            result[lot.id] = {
                'product': template.name,
                'lot': lot.number,
                'county': county.name if county else None,
                'city': (county.parent.name
                    if county and county.parent
                    and county.parent.relief_level == 'city' else None),
                'supplier': (lot.relief_supplier.rec_name
                    if lot.relief_supplier else None),
                'base': lot.relief_base,
                'production_date': lot.production_date,
                'inspection_date': lot.inspection_date,
                'inspection_result': lot.inspection_result,
                'inspection_report': lot.inspection_report,
                'poor_households': lot.poor_households,
                'certificate': certificate,
                'catalogue_number': catalogue_number,
                'recalled': bool(lot.relief_blocked),
                'delisted': bool(template.relief
                    and template.id not in listed),
                }
        return result

    # Tracing: each direction is one recursive query, whatever the depth
    # of packing, crossing productions from inputs to outputs (downstream)
    # or from outputs to inputs (upstream).

    @classmethod
    def _relief_trace_lots(cls, lot_ids, direction):
        "Return the CTE of the lots reached from lot_ids in direction"
        pool = Pool()
        Move = pool.get('stock.move')
        lot = cls.__table__()
        from_, to = Move.__table__(), Move.__table__()
        traced = With('lot', recursive=True)
        if direction == 'downstream':
            from_side, to_side = 'production_input', 'production_output'
        else:
            from_side, to_side = 'production_output', 'production_input'
        from_production = getattr(from_, from_side)
        step = traced.join(from_, condition=(from_.lot == traced.lot)
            ).join(to, condition=(
                getattr(to, to_side) == from_production)
            ).select(to.lot.as_('lot'),
                where=(from_production != Null)
                & (from_.state == _Constant('done'))
                & (to.state == _Constant('done'))
                & (to.lot != Null))
        if len(lot_ids) == 1:
            # One lot (a lot's recall or page): no need to read its row
            seed = Select([Cast(Literal(lot_ids[0]), 'INTEGER').as_('lot')])
        else:
            seed = lot.select(lot.id.as_('lot'),
                where=SQL_OPERATORS['in'](lot.id, lot_ids))
        traced.query = Union(seed, step)
        return traced

    @classmethod
    def relief_trace_lots(cls, lots, direction='downstream'):
        "Return the ids of lots and of the lots packed from or into them"
        return set(cls._relief_trace_execute('lots', lots, direction))

    @classmethod
    def relief_trace_moves(cls, lots, direction='downstream'):
        """Return the ids of the done moves of the lots (and of what they were
        packed into or from) to customers (downstream) or from suppliers
        (upstream)"""
        return cls._relief_trace_execute('moves', lots, direction)

    @classmethod
    def _relief_trace_query(cls, kind, lot_ids, direction):
        pool = Pool()
        Move = pool.get('stock.move')
        Location = pool.get('stock.location')
        traced = cls._relief_trace_lots(lot_ids, direction)
        if kind == 'lots':
            return traced.select(traced.lot, with_=[traced])
        move, location = Move.__table__(), Location.__table__()
        if direction == 'downstream':
            end, type_ = move.to_location, _Constant('customer')
        else:
            end, type_ = move.from_location, _Constant('supplier')
        return move.join(traced, condition=move.lot == traced.lot
            ).join(location, condition=end == location.id
            ).select(move.id,
                where=(move.state == _Constant('done'))
                & (location.type == type_),
                order_by=[move.effective_date, move.id],
                with_=[traced])

    @classmethod
    def _relief_trace_execute(cls, kind, lots, direction):
        """Run the trace query of kind for lots; return the ids found.

        The SQL of a few seed lots is built once and kept (building it costs
        more than running it on an indexed database), with a placeholder
        for each lot id."""
        cursor = Transaction().connection.cursor()
        lot_ids = [l.id for l in lots]
        if not lot_ids:
            return []
        if len(lot_ids) > 8:
            query, params = tuple(
                cls._relief_trace_query(kind, lot_ids, direction))
        else:
            key = (kind, direction, len(lot_ids))
            cached = cls._relief_trace_sql.get(key)
            if cached is None:
                slots = [_Slot(i) for i in range(len(lot_ids))]
                cached = cls._relief_trace_sql[key] = tuple(
                    cls._relief_trace_query(kind, slots, direction))
            query, params = cached
            params = [_Slot.fill(p, lot_ids) for p in params]
        cursor.execute(query, params)
        return [r for r, in cursor]

    @classmethod
    def get_relief_packing(cls, lots, name):
        if name == 'relief_packed_from':
            packing = cls.relief_components(lots)
        else:
            packing = cls.relief_packs(lots)
        return {i: [l.id for l in ls] for i, ls in packing.items()}

    @classmethod
    def relief_components(cls, lots):
        "Return for each lot the lots packed into it (one step back)"
        return cls._relief_packing(lots, 'production_output')

    @classmethod
    def relief_packs(cls, lots):
        "Return for each lot the lots it was packed into (one step forward)"
        return cls._relief_packing(lots, 'production_input')

    @classmethod
    def _relief_packing(cls, lots, side):
        pool = Pool()
        Move = pool.get('stock.move')
        cursor = Transaction().connection.cursor()
        move, other = Move.__table__(), Move.__table__()
        other_side = {
            'production_output': 'production_input',
            'production_input': 'production_output',
            }[side]
        result = {l.id: [] for l in lots}
        if not lots:
            return result
        cursor.execute(*move.join(other, condition=(
                    getattr(other, other_side) == getattr(move, side))
                ).select(move.lot, other.lot,
                where=SQL_OPERATORS['in'](move.lot, list(result))
                & (getattr(move, side) != Null)
                & (move.state == 'done') & (other.state == 'done')
                & (other.lot != Null),
                group_by=[move.lot, other.lot],
                order_by=[move.lot, other.lot]))
        for lot_id, other_id in cursor:
            result[lot_id].append(cls(other_id))
        return result


class Move(metaclass=PoolMeta):
    __name__ = 'stock.move'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # The trace queries join done moves by lot and by production.
        cls._sql_indexes.update({
                Index(t, (t.lot, Index.Range()),
                    where=(t.lot != Null) & (t.state == 'done')),
                Index(t, (t.production_input, Index.Range()),
                    where=t.production_input != Null),
                Index(t, (t.production_output, Index.Range()),
                    where=t.production_output != Null),
                })

    @classmethod
    def assign(cls, moves):
        cls.check_relief_lot_blocked(moves)
        super().assign(moves)

    @classmethod
    @ModelView.button
    def do(cls, moves):
        cls.check_relief_lot_blocked(moves)
        cls.check_relief_lot_origin(moves)
        super().do(moves)

    @classmethod
    def check_relief_lot_blocked(cls, moves):
        "Refuse to ship or pack a recalled lot or a lot that failed inspection"
        for move in moves:
            lot = move.lot
            if not lot or move.to_location.type not in {
                    'customer', 'production'}:
                continue
            if lot.relief_blocked:
                raise LotBlockedError(gettext(
                        'relief_trace.msg_lot_blocked',
                        lot=lot.rec_name, product=move.product.rec_name,
                        recall=lot.relief_recall.rec_name
                        if lot.relief_recall else ''))
            if lot.inspection_result == 'failed':
                raise LotBlockedError(gettext(
                        'relief_trace.msg_lot_inspection_failed',
                        lot=lot.rec_name, product=move.product.rec_name,
                        report=lot.inspection_report or ''))

    @classmethod
    def check_relief_lot_origin(cls, moves):
        "A relief product is received only into a lot that knows its origin"
        for move in moves:
            if (move.lot and move.from_location.type == 'supplier'
                    and move.product.template.relief
                    and not (move.lot.relief_supplier
                        and move.lot.relief_county)):
                raise LotOriginError(gettext(
                        'relief_trace.msg_lot_origin_missing',
                        lot=move.lot.rec_name,
                        product=move.product.rec_name))


class LotQuality(metaclass=PoolMeta):
    "The inspection of a lot, taken from Tryton's quality inspection"
    __name__ = 'stock.lot'

    quality_inspection = fields.Many2One(
        'quality.inspection', "Quality Inspection", ondelete='RESTRICT',
        states={'invisible': ~Eval('relief_traced')},
        help="The quality inspection that checked the lot.")

    @fields.depends('quality_inspection')
    def on_change_quality_inspection(self):
        inspection = self.quality_inspection
        if not inspection:
            return
        if inspection.state in {'passed', 'failed'}:
            self.inspection_result = inspection.state
        if inspection.processed_at:
            self.inspection_date = inspection.processed_at.date()
        self.inspection_report = inspection.reference or inspection.number
