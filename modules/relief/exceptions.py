# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model.exceptions import ValidationError
from trytond.exceptions import UserError


class RuleValidationError(ValidationError):
    pass


class ExcelError(UserError):
    "An imported workbook that is not valid, with every problem found"
    pass


class BusyError(UserError):
    "Others held what a confirmation needs for longer than it may wait"
    pass
