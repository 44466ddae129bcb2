# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

# The devices' feeds are routes of trytond's WSGI application: importing
# the module registers them (trytond imports every module at start-up).
from . import routes  # noqa: F401
