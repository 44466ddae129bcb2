# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError


class LotOriginError(ValidationError):
    pass


class LotAccessError(AccessError):
    "A user's change of what only the module sets on a lot"
    pass


class LotBlockedError(UserError):
    "A recalled lot moved to a customer or into a pack"
    pass


class RecallError(ValidationError):
    pass


class RecallAccessError(AccessError):
    pass


class UomCodeError(ValidationError):
    "A unit without the UN/ECE Recommendation 20 code EPCIS needs"
    pass
