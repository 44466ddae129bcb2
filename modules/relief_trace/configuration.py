# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import fields
from trytond.pool import PoolMeta

DEFAULT_BASE = 'https://trace.example.invalid'


class Configuration(metaclass=PoolMeta):
    __name__ = 'relief.configuration'

    trace_base_url = fields.Char(
        "Trace Base URL",
        help="The address that QR codes start with, without trailing slash: "
        "the public trace page of this database, for example "
        "https://trace.example.com/relief/trace (served by trytond at "
        "/<database>/relief/trace).")

    @classmethod
    def default_trace_base_url(cls):
        return DEFAULT_BASE

    def get_trace_base_url(self):
        return (self.trace_base_url or DEFAULT_BASE).rstrip('/')
