# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class InvitationError(ValidationError):
    "A supplier invited who may not bid"
    pass


class BidError(ValidationError):
    "A bid outside the round's rules"
    pass


class BidSealedError(AccessError):
    "A sealed figure searched or sorted before the round is opened"
    pass


class RoundError(UserError):
    "A step of the round's workflow taken too early or by the wrong user"
    pass


class QuotationRoundError(AccessError):
    "A round's request for quotation changed by a user"
    pass


class QualityDelistError(UserError):
    "A failed receipt's product that cannot be delisted"
    pass


class InspectionProcessedError(AccessError):
    "A processed inspection changed"
    pass
