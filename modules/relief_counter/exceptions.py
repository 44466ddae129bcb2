# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class CounterError(ValidationError):
    "A counter or a counter sale the rules refuse"
    pass


class MemberError(UserError):
    "A member number or card the counter does not know"
    pass


class CounterAccessError(AccessError):
    "A change only the counter's workflow makes"
    pass


class CashCountError(ValidationError):
    "The cash counted at a counter is not the session's expected cash"
    pass


class CounterLotError(ValidationError):
    "A lot a counter may not sell: expired or recalled"
    pass
