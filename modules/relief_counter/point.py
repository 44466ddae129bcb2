# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Counters (扶贫专柜) and smart cabinets (智能柜) are Tryton's points of
sale at a site that a union or a bank hosts.

The stock at a site stays the distributor's: the point's storage location
is a location of its own under the distributor's warehouse, not a
consignment location (stock_consignment) owned by the host, because the
host neither buys the goods nor is invoiced for what members buy; the
host may charge a fee on the site's sales (the day's settlement).

A point lists its clerks (employees): a user of sale_point's Point of Sale
group sees the points whose clerk he is, and their sales, payments and cash
sessions only (record rules, point.xml); sales administrators see all."""
from trytond.model import ModelSQL, Unique, fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval


class Point(metaclass=PoolMeta):
    __name__ = 'sale.point'

    relief_kind = fields.Selection([
            ('counter', "Staffed Counter"),
            ('cabinet', "Smart Cabinet"),
            ], "Kind", required=True,
        help="A staffed counter (扶贫专柜) sells to anyone, at the member "
        "price to members; a smart cabinet (智能柜) is unattended and sends "
        "its sales through its operator's system.")
    host = fields.Many2One(
        'party.party', "Host", required=True, ondelete='RESTRICT',
        context={'company': Eval('company', -1)}, depends={'company'},
        help="The union or bank whose building hosts the site.")
    site_type = fields.Selection([
            ('workers_home', "Workers' Home"),
            ('reading_room', "Workers' Reading Room"),
            ('bank_branch', "Bank Branch"),
            ('union_building', "Union Building"),
            ('office', "Office Building"),
            ], "Site", required=True)
    subdivision = fields.Many2One(
        'country.subdivision', "District or County", ondelete='RESTRICT',
        help="Where the site is.")
    member_price_list = fields.Many2One(
        'product.price_list', "Member Price List", ondelete='RESTRICT',
        domain=[('company', 'in', [Eval('company', -1), None])],
        help="The price of members identified at the counter; others pay "
        "the list price.")
    host_fee_rate = fields.Numeric(
        "Host Fee Rate", digits=(16, 4),
        domain=['OR', ('host_fee_rate', '=', None),
            [('host_fee_rate', '>=', 0), ('host_fee_rate', '<=', 1)]],
        help="The share of the site's sales that the host charges.")
    clerks = fields.Many2Many(
        'sale.point-company.employee', 'point', 'employee', "Clerks",
        domain=[('company', '=', Eval('company', -1))],
        help="The employees who sell here: a clerk sees the points he "
        "sells at, their sales and their cash sessions, no other.")

    @classmethod
    def default_relief_kind(cls):
        return 'counter'

    @classmethod
    def default_site_type(cls):
        return 'workers_home'


class PointEmployee(ModelSQL):
    __name__ = 'sale.point-company.employee'
    __string__ = "Point of Sale - Clerk"

    point = fields.Many2One(
        'sale.point', "Point", required=True, ondelete='CASCADE')
    employee = fields.Many2One(
        'company.employee', "Clerk", required=True, ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('point_employee_unique', Unique(t, t.point, t.employee),
                'relief_counter.msg_point_clerk_unique'),
            ]
