# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

# GET /health for the proxy: a route of trytond's WSGI application,
# registered by importing the module (trytond imports every module).
from . import routes  # noqa: F401
