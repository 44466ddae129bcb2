# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class UnionTreeError(ValidationError):
    pass


class MemberError(ValidationError):
    pass


class PlanError(ValidationError):
    pass


class QuotaError(UserError):
    "An allocation of reserved quota above what the upper union holds"
    pass
