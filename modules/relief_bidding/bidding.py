# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import Cast, Column, Window
from sql.aggregate import Count, Max, Min
from sql.conditionals import Case, Coalesce, NullIf
from sql.functions import Function, Round as RoundOff, RowNumber

from trytond import backend

from trytond.i18n import gettext
from trytond.model import (
    ModelSingleton, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.modules.product import price_digits
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .exceptions import BidError, BidSealedError, InvitationError, RoundError


class Printf(Function):
    "SQLite's printf()"
    __slots__ = ()
    _function = 'PRINTF'


# Rounds whose bids are unsealed
OPENED = ['opened', 'awarded']
# The bid's figures nobody reads before its round is opened
SEALED = ['price', 'quantity', 'delivery_date', 'capacity', 'score',
    'score_price', 'score_poor_people', 'score_quality', 'score_capacity']
# Delisting reasons that count against a supplier's quality record
QUALITY_REASONS = ['quality', 'food_safety']
# What the round's buttons write, never a user
ROUND_WORKFLOW = {'state', 'first_opened', 'second_opened'}
# What the opening and the award write on a bid, never a user (and its
# quotation line, set with it)
BID_WORKFLOW = {'awarded', 'agreement_line', 'score', 'score_price',
    'score_poor_people', 'score_quality', 'score_capacity', 'quotation_line'}


def _check_link(Model, mode, records, values, name):
    """Refuse a user's write of the link name that the round's workflow
    sets, or a creation with it"""
    if mode == 'write' and name in (values or {}):
        records = list(records)
    elif mode == 'create':
        records = [r for r in records if getattr(r, name)]
    else:
        records = []
    if records:
        raise RoundError(gettext(
                'relief_bidding.msg_round_link',
                record=records[0].rec_name,
                field=Model.__names__(name)['field']))


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "Bidding Configuration"
    __name__ = 'relief.bidding.configuration'

    weight_price = fields.Numeric(
        "Price Weight", digits=(16, 2), required=True,
        domain=[('weight_price', '>=', 0)],
        help="Points of the lowest price; a dearer bid gets them in "
        "proportion (lowest price / its price).")
    weight_poor_people = fields.Numeric(
        "Poor People Weight", digits=(16, 2), required=True,
        domain=[('weight_poor_people', '>=', 0)],
        help="Points of the bidder lifting the most poor people (带贫人数); "
        "the others in proportion.")
    weight_quality = fields.Numeric(
        "Quality Weight", digits=(16, 2), required=True,
        domain=[('weight_quality', '>=', 0)],
        help="Points of a clean quality record: times the pass rate of the "
        "supplier's inspections in the last twelve months (its scorecard's; "
        "all without inspection), divided by 1 + the number of its products "
        "delisted for a quality or food-safety problem in the last three "
        "years.")
    weight_capacity = fields.Numeric(
        "Capacity Weight", digits=(16, 2), required=True,
        domain=[('weight_capacity', '>=', 0)],
        help="Points of a capacity covering the round's quantity; a "
        "smaller capacity gets them in proportion.")

    @classmethod
    def default_weight_price(cls):
        return Decimal(50)

    @classmethod
    def default_weight_poor_people(cls):
        return Decimal(20)

    @classmethod
    def default_weight_quality(cls):
        return Decimal(20)

    @classmethod
    def default_weight_capacity(cls):
        return Decimal(10)


class Round(Workflow, ModelSQL, ModelView):
    "Bidding Round"
    __name__ = 'relief.bidding.round'

    _states = {'readonly': Eval('state') != 'draft'}

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    name = fields.Char(
        "Campaign", required=True, states=_states,
        help="What the round buys for, e.g. 2026 中秋大礼包.")
    warehouse = fields.Many2One(
        'stock.location', "Warehouse",
        domain=[('type', '=', 'warehouse')],
        states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('state') != 'draft',
            },
        help="Where the goods are delivered: the address of the requests "
        "for quotation sent to the suppliers.")
    lines = fields.One2Many(
        'relief.bidding.round.line', 'round', "Products", states=_states)
    delivery_from = fields.Date(
        "Delivery From", required=True, states=_states,
        domain=[If(Eval('delivery_to'),
                ('delivery_from', '<=', Eval('delivery_to')), ())])
    delivery_to = fields.Date(
        "Delivery To", required=True, states=_states,
        domain=[If(Eval('delivery_from'),
                ('delivery_to', '>=', Eval('delivery_from')), ())])
    closing = fields.DateTime(
        "Closing", required=True, states=_states,
        help="No bid is taken or changed after this time.")
    opening = fields.DateTime(
        "Opening", required=True, states=_states,
        domain=[If(Eval('closing'), ('opening', '>=', Eval('closing')), ())],
        help="The bids are read from this time, once both members of the "
        "committee have opened the round.")
    committee_first = fields.Many2One(
        'res.user', "Committee Member", required=True, states=_states)
    committee_second = fields.Many2One(
        'res.user', "Second Committee Member", required=True,
        states=_states,
        domain=[('id', '!=', Eval('committee_first', -1))])
    first_opened = fields.Boolean("Opened by Member", readonly=True)
    second_opened = fields.Boolean("Opened by Second Member", readonly=True)
    invitations = fields.One2Many(
        'relief.bidding.invitation', 'round', "Invitations",
        states={'readonly': ~Eval('state').in_(['draft', 'invited'])})
    bids = fields.One2Many(
        'relief.bidding.bid', 'round', "Bids",
        states={'readonly': Eval('state') != 'invited'})
    state = fields.Selection([
            ('draft', "Draft"),
            ('invited', "Invited"),
            ('closed', "Closed"),
            ('opened', "Opened"),
            ('awarded', "Awarded"),
            ('cancelled', "Cancelled"),
            ], "State", readonly=True, required=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('closing', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'invited'),
            ('invited', 'closed'),
            ('closed', 'opened'),
            ('opened', 'awarded'),
            ('draft', 'cancelled'),
            ('invited', 'cancelled'),
            ('closed', 'cancelled'),
            }
        cls._buttons.update({
                'invite': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'close': {
                    'invisible': Eval('state') != 'invited',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'open_': {
                    'invisible': Eval('state') != 'closed',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'award': {
                    'invisible': Eval('state') != 'opened',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(
                        ['draft', 'invited', 'closed']),
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def default_warehouse(cls):
        return Pool().get('stock.location').get_default_warehouse()

    @classmethod
    def default_first_opened(cls):
        return False

    @classmethod
    def default_second_opened(cls):
        return False

    @staticmethod
    def _now():
        return dt.datetime.now()

    @classmethod
    def _format(cls, value):
        return Pool().get('ir.lang').get().strftime(value, '%Y-%m-%d %H:%M:%S')

    @classmethod
    @ModelView.button
    @Workflow.transition('invited')
    def invite(cls, rounds):
        Invitation = Pool().get('relief.bidding.invitation')
        for round_ in rounds:
            if not round_.lines or not round_.invitations:
                raise RoundError(gettext(
                        'relief_bidding.msg_round_invite_empty',
                        round=round_.rec_name))
        Invitation.check_suppliers(
            [i for r in rounds for i in r.invitations])
        cls.request_quotations(rounds)

    @classmethod
    def request_quotations(cls, rounds):
        """The formal request for quotation: a purchase request per product
        of the rounds, then a quotation sent to each invited supplier"""
        pool = Pool()
        Request = pool.get('purchase.request')
        Line = pool.get('relief.bidding.round.line')
        Invitation = pool.get('relief.bidding.invitation')
        for round_ in rounds:
            if not round_.warehouse:
                raise RoundError(gettext(
                        'relief_bidding.msg_round_warehouse',
                        round=round_.rec_name))
        lines = [l for r in rounds for l in r.lines if not l.request]
        requests = [l.get_request() for l in lines]
        Request.save(requests)
        to_write = []
        for line, request in zip(lines, requests):
            to_write.extend(([line], {'request': request.id}))
        if to_write:
            Line.write(*to_write)
        Invitation.request_quotations(Invitation.browse(
                [i.id for r in rounds for i in r.invitations]))

    @classmethod
    @ModelView.button
    @Workflow.transition('closed')
    def close(cls, rounds):
        now = cls._now()
        for round_ in rounds:
            if now < round_.closing:
                raise RoundError(gettext(
                        'relief_bidding.msg_round_close_early',
                        round=round_.rec_name,
                        closing=cls._format(round_.closing)))

    @classmethod
    @ModelView.button
    def open_(cls, rounds):
        "Each member of the committee opens; the second one unseals"
        user = Transaction().user
        now = cls._now()
        for round_ in rounds:
            if round_.state != 'closed':
                continue
            if now < round_.opening:
                raise RoundError(gettext(
                        'relief_bidding.msg_round_open_early',
                        round=round_.rec_name,
                        opening=cls._format(round_.opening)))
            if user == round_.committee_first.id:
                round_.first_opened = True
            elif user == round_.committee_second.id:
                round_.second_opened = True
            else:
                raise RoundError(gettext(
                        'relief_bidding.msg_round_open_committee',
                        round=round_.rec_name))
        cls.save(rounds)
        ready = [r for r in rounds
            if r.state == 'closed' and r.first_opened and r.second_opened]
        cls.unseal(ready)
        # Once opened: the bids read unsealed
        Pool().get('relief.bidding.bid').compute_scores(ready)

    @classmethod
    @Workflow.transition('opened')
    def unseal(cls, rounds):
        cls.receive_quotations(rounds)

    @classmethod
    def receive_quotations(cls, rounds):
        """The bids become the suppliers' quotations: each bid's price,
        quantity and delivery date on its quotation line (read past the
        seal: the round is opened when this returns); the quotations of the
        suppliers who bid are received, the others rejected"""
        pool = Pool()
        Bid = pool.get('relief.bidding.bid')
        Quotation = pool.get('purchase.request.quotation')
        QuotationLine = pool.get('purchase.request.quotation.line')
        bids = [b for r in rounds for b in r.bids if b.quotation_line]
        figures = Bid.unsealed_figures(bids)
        lines = []
        bidders = set()
        for bid in bids:
            line = bid.quotation_line
            row = figures[bid.id]
            line.unit_price = row['price']
            line.quantity = row['quantity']
            line.supply_date = row['delivery_date']
            line.currency = bid.round.company.currency
            lines.append(line)
            bidders.add((bid.round, bid.supplier))
        QuotationLine.save(lines)
        received, rejected = [], []
        for round_ in rounds:
            for invitation in round_.invitations:
                if invitation.quotation \
                        and invitation.quotation.state == 'sent':
                    if (round_, invitation.supplier) in bidders:
                        received.append(invitation.quotation)
                    else:
                        rejected.append(invitation.quotation)
        Quotation.receive(received)
        Quotation.reject(rejected)

    @classmethod
    @ModelView.button
    @Workflow.transition('awarded')
    def award(cls, rounds):
        "Award each product to its best bid: a blanket agreement a supplier"
        pool = Pool()
        Bid = pool.get('relief.bidding.bid')
        Agreement = pool.get('purchase.blanket_agreement')
        winners = [b for r in rounds for b in r.best_bids()]
        groups = list(cls._group_winners(winners))
        agreements = [r.get_agreement(s, bids) for r, s, bids in groups]
        Agreement.save(agreements)
        Agreement.run(agreements)
        to_write = []
        for agreement, (_, _, bids) in zip(agreements, groups):
            for line, bid in zip(agreement.lines, bids):
                to_write.extend(([bid], {
                            'awarded': True,
                            'agreement_line': line.id,
                            }))
        if to_write:
            Bid.write(*to_write)
        cls.choose_quotations(rounds, winners)

    @classmethod
    def choose_quotations(cls, rounds, winners):
        """The winning bid's quotation line becomes its request's preferred
        one (Tryton's Create Purchase buys from it); the quotations of the
        suppliers who won nothing are rejected"""
        pool = Pool()
        Request = pool.get('purchase.request')
        Quotation = pool.get('purchase.request.quotation')
        won = {b.line: b for b in winners}
        requests, rejected = [], []
        for round_ in rounds:
            for line in round_.lines:
                if not line.request:
                    continue
                bid = won.get(line)
                line.request.preferred_quotation_line = (
                    bid.quotation_line if bid else None)
                requests.append(line.request)
            suppliers = {b.supplier for b in winners if b.round == round_}
            rejected.extend(i.quotation for i in round_.invitations
                if i.quotation and i.quotation.state == 'received'
                and i.supplier not in suppliers)
        Request.save(requests)
        Quotation.reject(rejected)
        Request.update_state(requests)

    @staticmethod
    def _group_winners(winners):
        groups = defaultdict(list)
        for bid in winners:
            groups[bid.round, bid.supplier].append(bid)
        for (round_, supplier), bids in sorted(
                groups.items(), key=lambda i: (i[0][0].id, i[0][1].id)):
            yield round_, supplier, bids

    def best_bids(self):
        "The best bid of each product: highest score, then lowest price"
        best = {}
        for bid in self.bids:
            key = (-bid.score, bid.price, bid.delivery_date, bid.id)
            if bid.line not in best or key < best[bid.line][0]:
                best[bid.line] = (key, bid)
        return [b for _, b in best.values()]

    def get_agreement(self, supplier, bids):
        pool = Pool()
        Agreement = pool.get('purchase.blanket_agreement')
        Line = pool.get('purchase.blanket_agreement.line')
        agreement = Agreement(
            company=self.company, supplier=supplier,
            description=self.name, reference=self.rec_name,
            from_date=self.delivery_from, to_date=self.delivery_to)
        agreement.on_change_supplier()
        lines = []
        for bid in bids:
            line = Line(
                product=bid.line.product, unit=bid.line.unit,
                quantity=min(bid.quantity, bid.line.quantity),
                unit_price=bid.price)
            lines.append(line)
        agreement.lines = lines
        return agreement

    @classmethod
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, rounds):
        cls.cancel_quotations(rounds)

    @classmethod
    def cancel_quotations(cls, rounds):
        """The round's quotations are cancelled (a sent one back to draft
        first, as Tryton allows), and with them its requests"""
        pool = Pool()
        Request = pool.get('purchase.request')
        Quotation = pool.get('purchase.request.quotation')
        quotations = [i.quotation for r in rounds for i in r.invitations
            if i.quotation]
        Quotation.draft([q for q in quotations if q.state == 'sent'])
        quotations = Quotation.browse(quotations)
        Quotation.cancel([q for q in quotations if q.state == 'draft'])
        Request.update_state(
            [l.request for r in rounds for l in r.lines if l.request])

    @classmethod
    def validate_fields(cls, rounds, field_names):
        super().validate_fields(rounds, field_names)
        cls.check_committee(rounds, field_names)

    @classmethod
    def check_committee(cls, rounds, field_names=None):
        if field_names and not (
                {'committee_first', 'committee_second'} & field_names):
            return
        for round_ in rounds:
            if round_.committee_first == round_.committee_second:
                raise RoundError(gettext(
                        'relief_bidding.msg_round_committee_two',
                        round=round_.rec_name))

    @classmethod
    def check_modification(cls, mode, rounds, values=None, external=False):
        super().check_modification(
            mode, rounds, values=values, external=external)
        if external:
            cls.check_workflow_fields(mode, rounds, values)
        # The terms are fixed once the invitations are sent: the buttons
        # change the rest, the lists follow their own rules.
        if external and mode in {'write', 'delete'}:
            fields = set(values or {}) - {'invitations', 'bids'}
            for round_ in rounds:
                if round_.state != 'draft' and (mode == 'delete' or fields):
                    raise RoundError(gettext(
                            'relief_bidding.msg_round_modify',
                            round=round_.rec_name))

    @classmethod
    def check_workflow_fields(cls, mode, rounds, values=None):
        """Refuse a user's write of the state or of the committee's openings
        (a round preset as opened by one member would be unsealed by the
        other alone) and a creation in another state than a draft not
        opened: only the buttons change them (they run without access
        checks, so their writes are not a user's)"""
        if mode == 'write' and rounds and (values.keys() & ROUND_WORKFLOW):
            field = sorted(values.keys() & ROUND_WORKFLOW)[0]
            raise RoundError(gettext(
                    'relief_bidding.msg_round_workflow_write',
                    round=rounds[0].rec_name,
                    field=cls.__names__(field)['field']))
        elif mode == 'create':
            for round_ in rounds:
                if (round_.state != cls.default_state()
                        or round_.first_opened or round_.second_opened):
                    raise RoundError(gettext(
                            'relief_bidding.msg_round_workflow_create',
                            round=round_.rec_name))

    @classmethod
    def copy(cls, rounds, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('bids')
        default.setdefault('first_opened')
        default.setdefault('second_opened')
        return super().copy(rounds, default=default)


class RoundLine(ModelSQL, ModelView):
    "Bidding Round Product"
    __name__ = 'relief.bidding.round.line'

    round = fields.Many2One(
        'relief.bidding.round', "Round", required=True, ondelete='CASCADE')
    product = fields.Many2One(
        'product.product', "Product", required=True, ondelete='RESTRICT',
        domain=[('purchasable', '=', True), ('relief', '=', True)])
    specification = fields.Char("Specification")
    quantity = fields.Float("Quantity", digits='unit', required=True,
        domain=[('quantity', '>', 0)])
    unit = fields.Many2One(
        'product.uom', "Unit", required=True, ondelete='RESTRICT')
    request = fields.Many2One(
        'purchase.request', "Purchase Request", readonly=True,
        ondelete='RESTRICT',
        help="The request for quotation of the product, made by the "
        "invitation.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('round')

    def get_request(self):
        "The purchase request of the product for the round's quotations"
        Request = Pool().get('purchase.request')
        round_ = self.round
        return Request(
            company=round_.company, product=self.product,
            description=self.rec_name, quantity=self.quantity,
            unit=self.unit, warehouse=round_.warehouse,
            purchase_date=round_.delivery_from,
            supply_date=round_.delivery_to, origin=round_,
            state='draft')

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        if external:
            _check_link(cls, mode, lines, values, 'request')
            cls.check_round_draft(mode, lines, values)

    @classmethod
    def check_round_draft(cls, mode, lines, values=None):
        """Refuse a user's product added to, changed in or removed from a
        round whose invitations are sent (they ask for its terms; a product
        added then would have no request for quotation), through the line's
        own model as through the round"""
        Round = Pool().get('relief.bidding.round')
        rounds = {line.round for line in lines}
        if mode == 'write' and (values or {}).get('round'):
            rounds.add(Round(values['round']))
        for round_ in rounds:
            if round_.state != 'draft':
                raise RoundError(gettext(
                        'relief_bidding.msg_round_modify',
                        round=round_.rec_name))

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('request')
        return super().copy(lines, default=default)

    @fields.depends('product', 'unit')
    def on_change_product(self):
        if self.product and not self.unit:
            self.unit = self.product.purchase_uom

    def get_rec_name(self, name):
        name = self.product.rec_name
        if self.specification:
            name += ' (%s)' % self.specification
        return name


class Invitation(ModelSQL, ModelView):
    "Bidding Invitation"
    __name__ = 'relief.bidding.invitation'

    round = fields.Many2One(
        'relief.bidding.round', "Round", required=True, ondelete='CASCADE')
    supplier = fields.Many2One(
        'party.party', "Supplier", required=True, ondelete='RESTRICT')
    quotation = fields.Many2One(
        'purchase.request.quotation', "Quotation", readonly=True,
        ondelete='RESTRICT',
        help="The request for quotation sent to the supplier.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('round')
        t = cls.__table__()
        cls._sql_constraints += [
            ('round_supplier_unique', Unique(t, t.round, t.supplier),
                'relief_bidding.msg_invitation_unique'),
            ]

    def get_rec_name(self, name):
        return self.supplier.rec_name

    @classmethod
    def create(cls, vlist):
        invitations = super().create(vlist)
        # Invited to a round already sent: its quotation is sent at once
        with without_check_access():
            cls.request_quotations([i for i in invitations
                    if i.round.state == 'invited'])
        return invitations

    @classmethod
    def request_quotations(cls, invitations):
        """A quotation for each invitation's supplier, a line per request
        of its round, sent (numbered by Tryton's sequence)"""
        pool = Pool()
        Quotation = pool.get('purchase.request.quotation')
        Request = pool.get('purchase.request')
        invitations = [i for i in invitations if not i.quotation]
        quotations = [i.get_quotation() for i in invitations]
        Quotation.save(quotations)
        to_write = []
        for invitation, quotation in zip(invitations, quotations):
            to_write.extend(([invitation], {'quotation': quotation.id}))
        if to_write:
            cls.write(*to_write)
        Quotation.send(quotations)
        Request.update_state(list({l.request
                    for q in quotations for l in q.lines}))

    def get_quotation(self):
        pool = Pool()
        Quotation = pool.get('purchase.request.quotation')
        QuotationLine = pool.get('purchase.request.quotation.line')
        round_ = self.round
        quotation = Quotation(
            company=round_.company, supplier=self.supplier,
            warehouse=round_.warehouse)
        quotation.supplier_address = self.supplier.address_get()
        lines = []
        for line in round_.lines:
            request = line.request
            # No price: the bid is sealed until the opening
            lines.append(QuotationLine(
                    request=request, description=request.description,
                    quantity=request.quantity, unit=request.unit,
                    supply_date=request.supply_date))
        quotation.lines = lines
        return quotation

    @classmethod
    def copy(cls, invitations, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('quotation')
        return super().copy(invitations, default=default)

    @classmethod
    def check_suppliers(cls, invitations):
        """Only a supplier certified today, with a product of the round
        certified for it and listed, is invited"""
        pool = Pool()
        Date = pool.get('ir.date')
        SupplierCertification = pool.get('relief.supplier.certification')
        ProductCertification = pool.get('relief.product.certification')
        Entry = pool.get('relief.catalogue.entry')
        today = Date.today()
        certified = SupplierCertification.find_valid(
            [i.supplier for i in invitations], today)
        templates = {l.product.template for i in invitations
            for l in i.round.lines}
        listed = Entry.listed_on(templates, today)
        pairs = ProductCertification.find_valid(
            [(t, i.supplier) for i in invitations for t in templates], today)
        for invitation in invitations:
            supplier = invitation.supplier
            if supplier.id not in certified:
                raise InvitationError(gettext(
                        'relief_bidding.msg_invitation_not_certified',
                        supplier=supplier.rec_name,
                        round=invitation.round.rec_name))
            if not any(l.product.template.id in listed
                    and (l.product.template.id, supplier.id) in pairs
                    for l in invitation.round.lines):
                raise InvitationError(gettext(
                        'relief_bidding.msg_invitation_no_product',
                        supplier=supplier.rec_name,
                        round=invitation.round.rec_name))

    @classmethod
    def validate(cls, invitations):
        super().validate(invitations)
        cls.check_suppliers(
            [i for i in invitations if i.round.state == 'invited'])

    @classmethod
    def check_modification(cls, mode, invitations, values=None,
            external=False):
        super().check_modification(
            mode, invitations, values=values, external=external)
        if external:
            _check_link(cls, mode, invitations, values, 'quotation')
            if mode == 'write' and {'round', 'supplier'} & set(values):
                for invitation in invitations:
                    if invitation.quotation:
                        raise RoundError(gettext(
                                'relief_bidding.msg_invitation_sent_change',
                                supplier=invitation.supplier.rec_name,
                                round=invitation.round.rec_name))
        if mode == 'delete':
            for invitation in invitations:
                if invitation.round.state != 'draft':
                    raise RoundError(gettext(
                            'relief_bidding.msg_invitation_delete',
                            supplier=invitation.supplier.rec_name,
                            round=invitation.round.rec_name))


class Bid(ModelSQL, ModelView):
    """Sealed Bid

    Its figures (SEALED) read as empty before the round is opened, for
    every user, the administrator and the system included: read() blanks
    them, search() refuses a domain or an order on them while it could
    reach such a bid, and search_domain() (the relational fields' path)
    never matches those bids on them."""
    __name__ = 'relief.bidding.bid'

    _states = {'readonly': Eval('round_state') != 'invited'}

    round = fields.Many2One(
        'relief.bidding.round', "Round", required=True, ondelete='CASCADE',
        states=_states)
    round_state = fields.Function(
        fields.Selection('get_round_states', "Round State"),
        'on_change_with_round_state')
    supplier = fields.Many2One(
        'party.party', "Supplier", required=True, ondelete='RESTRICT',
        states=_states)
    line = fields.Many2One(
        'relief.bidding.round.line', "Product", required=True,
        ondelete='CASCADE', states=_states,
        domain=[('round', '=', Eval('round', -1))])
    price = fields.Numeric(
        "Unit Price", digits=price_digits, states=_states)
    quantity = fields.Float(
        "Quantity", states=_states,
        help="What the supplier offers of the round's quantity.")
    delivery_date = fields.Date(
        "Delivery Date", states=_states)
    capacity = fields.Float(
        "Capacity", states=_states,
        help="What the supplier can deliver in the delivery window.")
    score = fields.Numeric("Score", digits=(16, 2), readonly=True)
    score_price = fields.Numeric("Price Points", digits=(16, 2),
        readonly=True)
    score_poor_people = fields.Numeric("Poor People Points", digits=(16, 2),
        readonly=True)
    score_quality = fields.Numeric("Quality Points", digits=(16, 2),
        readonly=True)
    score_capacity = fields.Numeric("Capacity Points", digits=(16, 2),
        readonly=True)
    awarded = fields.Boolean("Awarded", readonly=True)
    agreement_line = fields.Many2One(
        'purchase.blanket_agreement.line', "Blanket Agreement Line",
        readonly=True, ondelete='RESTRICT')
    quotation_line = fields.Many2One(
        'purchase.request.quotation.line', "Quotation Line",
        readonly=True, ondelete='RESTRICT',
        help="The line of the supplier's quotation for the product: the "
        "opening copies the bid onto it.")

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('round')
        t = cls.__table__()
        cls._sql_constraints += [
            ('supplier_line_unique', Unique(t, t.supplier, t.line),
                'relief_bidding.msg_bid_unique'),
            ]
        cls._order = [('round', 'DESC'), ('id', 'ASC')]

    @classmethod
    def default_awarded(cls):
        return False

    @classmethod
    def get_round_states(cls):
        return Pool().get('relief.bidding.round').fields_get(
            ['state'])['state']['selection']

    @fields.depends('round', '_parent_round.state')
    def on_change_with_round_state(self, name=None):
        return self.round.state if self.round else None

    def get_rec_name(self, name):
        return '%s @ %s' % (self.supplier.rec_name, self.line.rec_name)

    # The seal ----------------------------------------------------------

    @classmethod
    def _sealed_ids(cls, ids):
        "The ids among ids of bids whose round is not opened"
        pool = Pool()
        Round = pool.get('relief.bidding.round')
        table = cls.__table__()
        round_ = Round.__table__()
        cursor = Transaction().connection.cursor()
        sealed = set()
        for i in range(0, len(ids), 1000):
            sub = ids[i:i + 1000]
            cursor.execute(*table.join(round_,
                    condition=table.round == round_.id).select(
                    table.id,
                    where=table.id.in_(sub)
                    & ~round_.state.in_(OPENED)))
            sealed.update(r for r, in cursor)
        return sealed

    @classmethod
    def read(cls, ids, fields_names):
        result = super().read(ids, fields_names)
        names = [n for n in (fields_names or cls._fields)
            if n.split('.', 1)[0] in SEALED]
        if names and result:
            sealed = cls._sealed_ids([r['id'] for r in result])
            for row in result:
                if row['id'] in sealed:
                    for name in names:
                        row[name] = None
        return result

    @staticmethod
    def _sealed_names(domain):
        "The sealed fields a domain names"
        names = set()
        if isinstance(domain, (list, tuple)):
            if domain and isinstance(domain[0], str) and len(domain) >= 2 \
                    and domain[0] not in {'AND', 'OR'}:
                name = domain[0].split('.', 1)[0]
                if name in SEALED:
                    names.add(name)
            else:
                for clause in domain:
                    names |= Bid._sealed_names(clause)
        return names

    @staticmethod
    def _unseal_domain(domain):
        "The domain with each sealed clause true: reaches at least as much"
        if isinstance(domain, (list, tuple)):
            if domain and isinstance(domain[0], str) and len(domain) >= 2 \
                    and domain[0] not in {'AND', 'OR'}:
                if domain[0].split('.', 1)[0] in SEALED:
                    return ('id', '!=', None)
                return domain
            return [Bid._unseal_domain(c) for c in domain]
        return domain

    @classmethod
    def search(cls, domain, offset=0, limit=None, order=None, count=False,
            query=False):
        names = cls._sealed_names(domain)
        names |= {o[0].split('.', 1)[0] for o in (order or [])
            if o[0].split('.', 1)[0] in SEALED}
        if names:
            # Whether the search could reach a sealed bid, regardless of
            # the sealed figures: the refusal tells nothing about them.
            reach = cls._unseal_domain(domain)
            if super().search([reach, ('round.state', 'not in', OPENED)],
                    limit=1, order=[]):
                # The field's label in the user's language
                raise BidSealedError(gettext(
                        'relief_bidding.msg_bid_sealed_search',
                        field=cls.__names__(sorted(names)[0])['field']))
        return super().search(domain, offset=offset, limit=limit,
            order=order, count=count, query=query)

    @classmethod
    def search_domain(cls, domain, active_test=None, tables=None):
        # Reached from other models (e.g. a round's ('bids.price', ...)):
        # a sealed clause never matches a bid of a round not opened.
        if cls._sealed_names(domain):
            domain = cls._seal_clauses(domain)
        return super().search_domain(
            domain, active_test=active_test, tables=tables)

    @staticmethod
    def _seal_clauses(domain):
        if isinstance(domain, (list, tuple)):
            if domain and isinstance(domain[0], str) and len(domain) >= 2 \
                    and domain[0] not in {'AND', 'OR'}:
                if domain[0].split('.', 1)[0] in SEALED:
                    return [domain, ('round.state', 'in', OPENED)]
                return domain
            return [Bid._seal_clauses(c) for c in domain]
        return domain

    # The workflow -------------------------------------------------------

    @classmethod
    def check_modification(cls, mode, bids, values=None, external=False):
        super().check_modification(
            mode, bids, values=values, external=external)
        if not external:
            return
        cls.check_workflow_fields(mode, bids, values)
        Round = Pool().get('relief.bidding.round')
        now = Round._now()
        # A bid moved to another round must be taken there too
        moved = Round(values['round']) if (
            mode == 'write' and values.get('round')) else None
        for bid in bids:
            for round_ in filter(None, [bid.round, moved]):
                if round_.state != 'invited' or now >= round_.closing:
                    raise BidError(gettext(
                            'relief_bidding.msg_bid_closed',
                            bid=bid.rec_name, round=round_.rec_name))

    @classmethod
    def check_workflow_fields(cls, mode, bids, values=None):
        """Refuse a user's write or creation of what the opening (the
        scores) and the award (awarded, its agreement line: the suppliers'
        scorecards count them) set; read past the seal on creation"""
        if mode == 'write':
            names = set(values or {}) & BID_WORKFLOW
        elif mode == 'create' and bids:
            names = set()
            for row in super().read([b.id for b in bids], list(BID_WORKFLOW)):
                names.update(n for n in BID_WORKFLOW
                    if (row[n] if n == 'awarded' else row[n] is not None))
        else:
            names = set()
        if names and bids:
            raise BidError(gettext(
                    'relief_bidding.msg_bid_workflow',
                    bid=bids[0].rec_name,
                    field=cls.__names__(sorted(names)[0])['field']))

    @classmethod
    def create(cls, vlist):
        bids = super().create(vlist)
        cls.set_quotation_lines(bids)
        return bids

    @classmethod
    def write(cls, *args):
        super().write(*args)
        actions = iter(args)
        cls.set_quotation_lines([b for bids, values in zip(actions, actions)
                if {'round', 'line', 'supplier'} & set(values)
                for b in bids])

    @classmethod
    def copy(cls, bids, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('quotation_line')
        return super().copy(bids, default=default)

    @classmethod
    def set_quotation_lines(cls, bids):
        """Link each bid to the line of its supplier's quotation for its
        product (the module's write, not a user's)"""
        pool = Pool()
        Invitation = pool.get('relief.bidding.invitation')
        QuotationLine = pool.get('purchase.request.quotation.line')
        if not bids:
            return
        to_write = []
        with without_check_access():
            bids = cls.browse([b.id for b in bids])
            quotations = {}  # (round, supplier): quotation
            for sub in grouped_slice(list({b.round.id for b in bids}), 1000):
                for invitation in Invitation.search([
                            ('round', 'in', list(sub)),
                            ('quotation', '!=', None),
                            ], order=[]):
                    quotations[invitation.round.id,
                        invitation.supplier.id] = invitation.quotation.id
            lines = {}  # (quotation, request): its line
            for sub in grouped_slice(list(set(quotations.values())), 1000):
                for line in QuotationLine.search([
                            ('quotation', 'in', list(sub)),
                            ], order=[]):
                    lines[line.quotation.id, line.request.id] = line.id
            for bid in bids:
                request = bid.line.request
                line = lines.get((quotations.get(
                            (bid.round.id, bid.supplier.id)),
                        request.id if request else None))
                if line != (bid.quotation_line.id
                        if bid.quotation_line else None):
                    to_write.extend(([bid], {'quotation_line': line}))
            if to_write:
                cls.write(*to_write)

    @classmethod
    def unsealed_figures(cls, bids):
        "{bid id: its figures}, read past the seal (for the opening)"
        names = ['price', 'quantity', 'delivery_date', 'capacity']
        return {r['id']: r
            for r in super().read([b.id for b in bids], names)}

    @classmethod
    def validate_fields(cls, bids, field_names):
        super().validate_fields(bids, field_names)
        cls.check_invited(bids, field_names)

    @classmethod
    def validate(cls, bids):
        super().validate(bids)
        cls.check_figures(bids)

    @classmethod
    def check_figures(cls, bids):
        """Each figure given and positive: read past the seal (not
        required fields, which the validation would read sealed)"""
        names = ['price', 'quantity', 'delivery_date', 'capacity']
        rows = {r['id']: r
            for r in super().read([b.id for b in bids], names)}
        for bid in bids:
            row = rows[bid.id]
            if (any(row[n] is None for n in names)
                    or row['price'] <= 0 or row['quantity'] <= 0
                    or row['capacity'] < 0):
                raise BidError(gettext(
                        'relief_bidding.msg_bid_figures',
                        bid=bid.rec_name))

    @classmethod
    def check_invited(cls, bids, field_names=None):
        if field_names and not ({'round', 'supplier'} & field_names):
            return
        for bid in bids:
            if bid.supplier not in {i.supplier for i in bid.round.invitations}:
                raise BidError(gettext(
                        'relief_bidding.msg_bid_not_invited',
                        supplier=bid.supplier.rec_name,
                        round=bid.round.rec_name))

    @classmethod
    def compute_scores(cls, rounds):
        """Score the bids of rounds: each part is its weight times the
        bid's figure relative to the best of its product's bids, rounded to
        the cent; one UPDATE a thousand rounds, the best figures by window
        functions over each round line (no bid read into Python)"""
        pool = Pool()
        Config = pool.get('relief.bidding.configuration')
        config = Config(1)
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        names = ['score_price', 'score_poor_people', 'score_quality',
            'score_capacity']
        for sub in grouped_slice([r.id for r in rounds], 1000):
            parts = cls._parts_query(config, cls._figures_query(list(sub)))
            values = [Column(parts, n) for n in names]
            values.append(sum(values[1:], values[0]))
            cursor.execute(*table.update(
                    [Column(table, n) for n in names + ['score']],
                    [cls._numeric(v) for v in values],
                    from_=[parts],
                    where=table.id == parts.id))

    @staticmethod
    def _numeric(value):
        "value as a Numeric field keeps it"
        if backend.name == 'sqlite':
            # Tryton keeps a Decimal's text as a BLOB (not a REAL)
            return Cast(Printf('%.2f', value), 'BLOB')
        return value

    @staticmethod
    def _number(value):
        """value as a decimal number (a real on SQLite, whose NUMERIC may
        hold an integer and divide as one)"""
        return Cast(value, 'REAL' if backend.name == 'sqlite' else 'NUMERIC')

    @classmethod
    def _parts_query(cls, config, figures):
        """The points of each bid of figures: price (the lowest price of its
        product over its own), 带贫人数 (its own over the most), quality
        record (its scorecard's pass rate over 1 + its incidents),
        capacity (its capacity over the quantity asked, at most 1)"""
        number = cls._number
        window = Window([figures.line])

        def points(weight, ratio):
            # A weight is a Decimal: a float for SQLite's arithmetic
            if backend.name == 'sqlite':
                weight = float(weight)
            return RoundOff(ratio * weight, 2)
        capacity = number(figures.capacity) / number(figures.quantity)
        return figures.select(
            figures.id,
            points(config.weight_price, number(
                    Min(figures.price, window=window)) / number(
                    figures.price)).as_('score_price'),
            Coalesce(points(config.weight_poor_people,
                    number(figures.poor_people) / NullIf(number(Max(
                                Coalesce(figures.poor_people, 0),
                                window=window)), 0)),
                0).as_('score_poor_people'),
            points(config.weight_quality,
                Coalesce(number(figures.passed) / NullIf(
                        number(figures.inspections), 0), number(1))
                / number(figures.incidents + 1)).as_('score_quality'),
            points(config.weight_capacity,
                Case((capacity > 1, number(1)), else_=capacity)).as_(
                'score_capacity'))

    @classmethod
    def _figures_query(cls, round_ids):
        """Per bid of the rounds: id, line, price, capacity, the line's
        quantity, the supplier's 带贫人数 (certificate in force today, the
        one find_valid keeps), its inspections and those passed in the last
        twelve months (as its scorecard counts them) and its quality
        incidents (products delisted for quality or food safety in the last
        three years)"""
        pool = Pool()
        Date = pool.get('ir.date')
        Line = pool.get('relief.bidding.round.line')
        Certification = pool.get('relief.supplier.certification')
        Entry = pool.get('relief.catalogue.entry')
        ProductCertification = pool.get('relief.product.certification')
        Scorecard = pool.get('relief.bidding.scorecard')
        bid = cls.__table__()
        line = Line.__table__()
        certification = Certification.__table__()
        entry = Entry.__table__()
        product = ProductCertification.__table__()
        today = Date.today()
        since = today - dt.timedelta(days=3 * 365)
        inspections = Scorecard._inspections(
            dt.datetime.combine(today - dt.timedelta(days=365), dt.time()),
            dt.datetime.combine(today + dt.timedelta(days=1), dt.time()))
        # Each supplier's certificate in force ranked (the first is the one
        # find_valid keeps), joined once: not a subquery per bid
        in_force = certification.select(
            certification.supplier, certification.poor_people,
            RowNumber(window=Window([certification.supplier],
                    order_by=[certification.valid_from.asc,
                        certification.id.asc])).as_('rank'),
            where=(certification.state == 'certified')
            & (certification.valid_from <= today)
            & (certification.valid_to >= today))
        delisted = entry.select(entry.template,
            where=(entry.state == 'delisted')
            & entry.delist_reason.in_(QUALITY_REASONS)
            & (entry.delisted >= since))
        incidents = product.select(Count(product.template, distinct=True),
            where=(product.supplier == bid.supplier)
            & product.template.in_(delisted))
        return bid.join(line, condition=bid.line == line.id).join(in_force,
            'LEFT', condition=(in_force.supplier == bid.supplier)
            & (in_force.rank == 1)).join(inspections, 'LEFT',
            condition=inspections.supplier == bid.supplier).select(
            bid.id, bid.line, bid.price, bid.capacity, line.quantity,
            in_force.poor_people, inspections.inspections,
            inspections.passed, incidents.as_('incidents'),
            where=bid.round.in_(round_ids))
