# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

# The public trace page is a route of trytond's WSGI application: importing
# the module registers it (trytond imports every module at start-up).
from . import routes  # noqa: F401
