# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from collections import defaultdict
from decimal import Decimal

from trytond.model import ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access


class Account(metaclass=PoolMeta):
    __name__ = 'account.account'

    relief_subsidy = fields.Boolean(
        "Subsidy Receivable",
        help="Holds the payers' share of the sales until it is claimed; "
        "claim invoices to the payers are booked against it.")

    @classmethod
    def default_relief_subsidy(cls):
        return False


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    @classmethod
    @Workflow.transition('paid')
    def paid(cls, invoices):
        super().paid(invoices)
        cls._sync_subsidy_claims(invoices)

    @classmethod
    @ModelView.button
    def process(cls, invoices):
        super().process(invoices)
        cls._sync_subsidy_claims(invoices)

    @classmethod
    def _sync_subsidy_claims(cls, invoices):
        """Mark the claims paid or sent as their invoices (whoever
        reconciles the invoice, a finance user or not)"""
        Claim = Pool().get('relief.subsidy.claim')
        with without_check_access():
            claims = Claim.search([
                    ('invoice', 'in', [i.id for i in invoices]),
                    ('state', 'in', ['sent', 'paid']),
                    ])
            Claim.pay([c for c in claims
                    if c.state == 'sent' and c.invoice.state == 'paid'])
            Claim.unpay([c for c in claims
                    if c.state == 'paid' and c.invoice.state != 'paid'])


class InvoiceLine(metaclass=PoolMeta):
    __name__ = 'account.invoice.line'

    @classmethod
    def _account_domain(cls, type_):
        domain = super()._account_domain(type_)
        if type_ == 'out':
            # Claim invoices credit the subsidy receivable
            domain = domain + [('relief_subsidy', '=', True)]
        return domain

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + ['relief.subsidy.claim']

    def get_move_lines(self):
        """Book the payers' share of a sale line as revenue too, against
        the subsidy receivable of each payer: the revenue is the full price,
        in the period of the customer's invoice."""
        lines = super().get_move_lines()
        return lines + self._get_subsidy_move_lines()

    def _get_subsidy_move_lines(self):
        pool = Pool()
        SaleLine = pool.get('sale.line')
        MoveLine = pool.get('account.move.line')
        if (self.type != 'line' or self.invoice.type != 'out'
                or not isinstance(self.origin, SaleLine)
                or self.invoice.currency != self.invoice.company.currency):
            return []
        shares = defaultdict(Decimal)
        for subsidy in self.origin.subsidy_lines:
            if subsidy.state != 'confirmed' or subsidy.reversal_of:
                continue
            shares[subsidy.program] += self.invoice.currency.round(
                subsidy.unit_amount * Decimal(str(self.quantity)))
        move_lines = []
        for program, amount in shares.items():
            if not amount:
                continue
            debit, credit = (amount, 0) if amount > 0 else (0, -amount)
            receivable = MoveLine(
                account=program.account, party=program.payer,
                debit=debit, credit=credit, origin=self,
                description=program.rec_name)
            revenue = MoveLine(
                account=self.account, debit=credit, credit=debit,
                origin=self, description=program.rec_name)
            if self.account.party_required:
                revenue.party = self.invoice.party
            move_lines += [receivable, revenue]
        return move_lines
