# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class ProgramError(ValidationError):
    "A subsidy programme with a wrong figure"
    pass


class BudgetError(UserError):
    "A confirmation beyond a programme's budget or a member's limit"
    pass


class ClaimError(ValidationError):
    "A claim that cannot be made"
    pass


class CouponError(UserError):
    "A coupon code that cannot be used"
    pass


class SubsidyAccessError(AccessError):
    """A change that only the workflow makes: states, running totals,
    subsidy and claim lines"""
    pass
