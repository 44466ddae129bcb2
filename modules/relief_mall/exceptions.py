# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class ShopError(ValidationError):
    "An order or a key the shop does not take"
    pass


class StockError(UserError):
    "An order beyond what the mall can promise"
    pass


class PaymentError(UserError):
    "A payment notification that cannot be booked"
    pass


class OrderError(UserError):
    "A change the order's state does not allow"
    pass


class MallAccessError(AccessError):
    "A change only the mall's workflow makes"
    pass
