# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Purchases of designated-assistance units outside the platform (定点扶贫,
附件1 item 7): recorded with their proof, counted once verified."""
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import OffPlatformError


class OffPlatformPurchase(Workflow, ModelSQL, ModelView):
    "Off-Platform Relief Purchase"
    __name__ = 'relief.report.offplatform'
    _states = {'readonly': Eval('state') != 'draft'}

    union = fields.Many2One(
        'party.party', "Union", required=True, ondelete='RESTRICT',
        domain=[('union_level', '!=', None)], states=_states,
        help="The union whose spending the purchase counts for.")
    unit = fields.Char(
        "Unit", required=True, states=_states,
        help="The designated-assistance unit (定点扶贫单位) that bought.")
    date = fields.Date("Date", required=True, states=_states)
    supplier = fields.Many2One(
        'party.party', "Supplier", ondelete='RESTRICT', states=_states)
    county = fields.Many2One(
        'country.subdivision', "County of Origin", ondelete='RESTRICT',
        domain=[('relief_level', '=', 'county')], states=_states)
    description = fields.Char("Description", required=True, states=_states)
    amount = fields.Numeric(
        "Amount (CNY)", digits=(16, 2), required=True, states=_states,
        domain=[('amount', '>', 0)])
    reference = fields.Char(
        "Reference", states=_states,
        help="The number of the invoice or receipt attached as proof.")
    verified_by = fields.Many2One('res.user', "Verified by", readonly=True)
    state = fields.Selection([
            ('draft', "Draft"),
            ('verified', "Verified"),
            ], "State", readonly=True, required=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {('draft', 'verified')}
        cls._buttons.update({
                'verify': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    def get_rec_name(self, name):
        return '%s %s %s' % (self.unit, self.date, self.description)

    @classmethod
    def check_modification(cls, mode, purchases, values=None, external=False):
        super().check_modification(
            mode, purchases, values=values, external=external)
        if mode == 'write' and external:
            # Counted once verified: a verified purchase is a fact
            for purchase in purchases:
                if purchase.state != 'draft':
                    raise OffPlatformError(gettext(
                            'relief_report.msg_offplatform_verified',
                            purchase=purchase.rec_name))
        if mode == 'delete':
            for purchase in purchases:
                if purchase.state != 'draft':
                    raise OffPlatformError(gettext(
                            'relief_report.msg_offplatform_delete',
                            purchase=purchase.rec_name))

    @classmethod
    def check_proof(cls, purchases):
        "A purchase is verified on its proof: an attachment"
        Attachment = Pool().get('ir.attachment')
        attached = {a.resource.id for a in Attachment.search([
                    ('resource', 'in', [str(p) for p in purchases]),
                    ])}
        for purchase in purchases:
            if purchase.id not in attached:
                raise OffPlatformError(gettext(
                        'relief_report.msg_offplatform_no_proof',
                        purchase=purchase.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('verified')
    def verify(cls, purchases):
        pool = Pool()
        Spending = pool.get('relief.report.spending')
        cls.check_proof(purchases)
        cls.write(purchases, {'verified_by': Transaction().user})
        amounts = defaultdict(Decimal)
        for p in purchases:
            amounts[(p.union.id, p.date.year, p.date.month, 'offplatform')
                ] += p.amount
        Spending.add({}, amounts)

    @classmethod
    def copy(cls, purchases, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('verified_by')
        return super().copy(purchases, default=default)
