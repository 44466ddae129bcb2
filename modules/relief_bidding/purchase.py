# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The requests for quotation of a bidding round (purchase_request_quotation)

A round's invitation is its formal request for quotation: a purchase
request per product of the round (its origin is the round) and, per invited
supplier, a quotation sent with a line per request.  The opening copies the
bids onto the quotation lines and receives the quotations of the suppliers
who bid; the award makes the winning bid's line the request's preferred
one.  Only the round moves them: a user's change of a round's quotation or
of its lines is refused (before the opening they would tell or forge a
sealed price).  Tryton's Create Purchase buys a round's request from its
award only, against the award's blanket agreement line."""
from sql import Null

from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from .exceptions import QuotationRoundError, RoundError

ROUND = 'relief.bidding.round'


def _round(record):
    "The bidding round record's origin is, or None"
    origin = getattr(record, 'origin', None)
    if origin and getattr(origin, '__name__', None) == ROUND and origin.id:
        return origin


class PurchaseRequest(metaclass=PoolMeta):
    __name__ = 'purchase.request'

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() | {ROUND}

    @property
    def bidding_round(self):
        return _round(self)

    @property
    def bidding_bid(self):
        "The awarded bid whose quotation line the request prefers, or None"
        Bid = Pool().get('relief.bidding.bid')
        if not self.preferred_quotation_line:
            return None
        bids = Bid.search([
                ('quotation_line', '=', self.preferred_quotation_line.id),
                ('awarded', '=', True),
                ], limit=1, order=[])
        return bids[0] if bids else None

    def get_state(self):
        state = super().get_state()
        # Tryton cancels a request only with its purchase: a round's request
        # is cancelled with its quotations, when the round is cancelled
        if (state in {'quotation', 'received'} and self.bidding_round
                and all(l.quotation_state == 'cancelled'
                    for l in self.quotation_lines)):
            state = 'cancelled'
        return state

    @classmethod
    def check_modification(cls, mode, requests, values=None, external=False):
        super().check_modification(
            mode, requests, values=values, external=external)
        if external and mode == 'delete':
            for request in requests:
                if request.bidding_round:
                    with without_check_access():
                        raise RoundError(gettext(
                                'relief_bidding.msg_request_round_delete',
                                request=request.rec_name,
                                round=request.bidding_round.rec_name))


class Quotation(metaclass=PoolMeta):
    __name__ = 'purchase.request.quotation'

    bidding_round = fields.Function(fields.Many2One(
            ROUND, "Bidding Round",
            help="The round whose invitation this quotation is."),
        'get_bidding_round', searcher='search_bidding_round')

    @classmethod
    def get_bidding_round(cls, quotations, name):
        Invitation = Pool().get('relief.bidding.invitation')
        invitation = Invitation.__table__()
        cursor = Transaction().connection.cursor()
        result = dict.fromkeys(map(int, quotations))
        cursor.execute(*invitation.select(
                invitation.quotation, invitation.round,
                where=invitation.quotation.in_(list(result))))
        result.update(cursor)
        return result

    @classmethod
    def search_bidding_round(cls, name, clause):
        "In SQL: the record rules search it for users who read no round"
        Invitation = Pool().get('relief.bidding.invitation')
        invitation = Invitation.__table__()
        _, operator, value = clause
        if value is None and operator in {'=', '!='}:
            query = invitation.select(invitation.quotation,
                where=invitation.quotation != Null)
            return [('id', 'not in' if operator == '=' else 'in', query)]
        if operator in {'=', '!='} and isinstance(value, int):
            value, operator = [value], 'in' if operator == '=' else 'not in'
        if operator in {'in', 'not in'}:
            query = invitation.select(invitation.quotation,
                where=(invitation.quotation != Null)
                & invitation.round.in_([int(v) for v in value] or [-1]))
            return [('id', operator, query)]
        raise NotImplementedError(clause)

    @classmethod
    def _check_round(cls, quotations, action):
        """Refuse a user's change of a round's quotations: their round
        sends, receives and rejects them (its buttons run without access
        checks, as Tryton's transitions they call)"""
        if not Transaction().check_access:
            return
        for quotation in quotations:
            if quotation.id is None or quotation.id < 0:
                continue
            with without_check_access():
                round_ = quotation.bidding_round
                if round_:
                    raise QuotationRoundError(gettext(
                            'relief_bidding.msg_quotation_round',
                            quotation=quotation.rec_name,
                            round=round_.rec_name))

    @classmethod
    def check_modification(cls, mode, quotations, values=None,
            external=False):
        super().check_modification(
            mode, quotations, values=values, external=external)
        # The reference of the supplier may be noted
        if external and (mode == 'delete' or (mode == 'write'
                    and set(values or {}) - {'reference'})):
            cls._check_round(quotations, mode)

    @classmethod
    def copy(cls, quotations, default=None):
        cls._check_round(quotations, 'copy')
        return super().copy(quotations, default=default)

    @classmethod
    def cancel(cls, quotations):
        cls._check_round(quotations, 'cancel')
        super().cancel(quotations)

    @classmethod
    def draft(cls, quotations):
        cls._check_round(quotations, 'draft')
        super().draft(quotations)

    @classmethod
    def send(cls, quotations):
        cls._check_round(quotations, 'send')
        super().send(quotations)

    @classmethod
    def receive(cls, quotations):
        cls._check_round(quotations, 'receive')
        super().receive(quotations)

    @classmethod
    def reject(cls, quotations):
        cls._check_round(quotations, 'reject')
        super().reject(quotations)


class QuotationLine(metaclass=PoolMeta):
    __name__ = 'purchase.request.quotation.line'

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        """A user neither writes a line of a round's quotation (its price
        is the bid's, copied at the opening: before, it would tell or
        forge a sealed price) nor quotes a round's request apart"""
        super().check_modification(
            mode, lines, values=values, external=external)
        if not external:
            return
        with without_check_access():
            for line in lines:
                quotation = line.quotation
                round_ = (quotation.bidding_round if quotation else None) or (
                    line.request.bidding_round if line.request else None)
                if round_:
                    raise QuotationRoundError(gettext(
                            'relief_bidding.msg_quotation_line_round',
                            line=line.rec_name,
                            round=round_.rec_name))


class CreatePurchase(metaclass=PoolMeta):
    __name__ = 'purchase.request.create_purchase'

    def transition_start(self):
        self.check_bidding(self.records)
        return super().transition_start()

    @classmethod
    def check_bidding(cls, requests):
        "A round's request is bought from its award only"
        for request in requests:
            round_ = request.bidding_round
            if (round_ and not request.purchase_line
                    and (round_.state != 'awarded'
                        or not request.bidding_bid)):
                raise RoundError(gettext(
                        'relief_bidding.msg_request_round_purchase',
                        request=request.rec_name,
                        round=round_.rec_name))

    def apply_quotation(self, request):
        request = super().apply_quotation(request)
        bid = request.bidding_bid if request.bidding_round else None
        if bid and bid.agreement_line:
            # What the award agreed, not more than the round asked
            request.quantity = min(
                request.quantity, bid.agreement_line.quantity)
        return request

    def _group_purchase_line_key(self, request):
        "A round's request is bought on its award's agreement line"
        bid = request.bidding_bid if request.bidding_round else None
        return super()._group_purchase_line_key(request) + (
            ('blanket_agreement_line', bid.agreement_line if bid else None),
            )
