# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class CertificationError(ValidationError):
    pass


class CertificationAccessError(AccessError):
    pass


class NotCertifiedError(UserError):
    "A relief product bought or sold outside its certification or listing"
    pass


class PurchaseCapError(UserError):
    pass
