# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class SpendingAccessError(AccessError):
    "A change of the running totals by a user"
    pass


class OffPlatformError(UserError):
    "An off-platform purchase that may not be verified or changed"
    pass


class TargetError(ValidationError):
    "A second target of the same year and union"
    pass


class FormAccessError(AccessError):
    "The form of a union outside the subtree of a union accountant"
    pass
