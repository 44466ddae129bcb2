# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Payment notifications of the mall's payment provider (云闪付, bank card).

A notification is booked once: its transaction id is unique per shop, the
order's row is locked while it is booked, and a notification sent again
answers what the first one did.  Booking is Tryton's own: a receivable
payment of the member (account_payment) succeeded on the provider's
journal (its clearing move), the order processed, its invoice posted and
reconciled with the payment (sale_payment)."""
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

from .exceptions import MallAccessError, PaymentError


class Notification(ModelSQL, ModelView):
    "Member Mall Payment Notification"
    __name__ = 'relief.mall.payment.notification'
    __string__ = "Member Mall Payment Notification"

    shop = fields.Many2One(
        'web.shop', "Shop", required=True, readonly=True,
        ondelete='RESTRICT')
    transaction = fields.Char(
        "Transaction", required=True, readonly=True,
        help="The provider's id of the payment.")
    sale = fields.Many2One(
        'sale.sale', "Order", required=True, readonly=True,
        ondelete='RESTRICT')
    amount = Monetary(
        "Amount", currency='currency', digits='currency', required=True,
        readonly=True)
    currency = fields.Function(fields.Many2One(
            'currency.currency', "Currency"), 'on_change_with_currency')
    payment = fields.Many2One(
        'account.payment', "Payment", readonly=True, ondelete='RESTRICT')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('shop_transaction_unique', Unique(t, t.shop, t.transaction),
                'relief_mall.msg_notification_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.sale, Index.Equality())))
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]

    @fields.depends('sale', '_parent_sale.currency')
    def on_change_with_currency(self, name=None):
        return self.sale.currency if self.sale else None

    def get_rec_name(self, name):
        return '%s @ %s' % (self.transaction, self.sale.rec_name)

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        # Made by the provider's signed notifications only
        if external:
            raise MallAccessError(gettext(
                    'relief_mall.msg_notification_modify'))

    @classmethod
    def receive(cls, shop, sale, transaction, amount):
        """Book the payment of sale notified by shop's provider; return the
        notification (the first one when it is sent again)"""
        Sale = Pool().get('sale.sale')
        # Notifications of one order one after the other
        Sale.mall_lock([sale])
        sale = Sale(sale.id)
        done = cls.search([
                ('shop', '=', shop.id),
                ('transaction', '=', transaction),
                ], limit=1)
        if done:
            notification, = done
            notification.check_same(sale, amount)
            return notification
        cls.check_payable(sale, amount)
        notification = cls(shop=shop, sale=sale, transaction=transaction,
            amount=amount)
        with without_check_access():
            # What booking does is fixed here, not by the channel: the
            # channel's user need not write in the accounts.
            notification.payment = cls.book(shop, sale, amount, transaction)
            notification.save()
            cls.fulfil(sale)
        return notification

    def check_same(self, sale, amount):
        "Refuse a transaction id sent again for another order or amount"
        if self.sale != sale or self.amount != amount:
            raise PaymentError(gettext(
                    'relief_mall.msg_notification_other',
                    transaction=self.transaction, sale=self.sale.rec_name))

    @classmethod
    def check_payable(cls, sale, amount):
        "Refuse paying an order twice, cancelled, or with another amount"
        if sale.state != 'confirmed' or sale.mall_pay_before is None:
            raise PaymentError(gettext(
                    'relief_mall.msg_payment_not_awaited',
                    sale=sale.rec_name,
                    state=sale.state_string))
        if sale.mall_covered:
            raise PaymentError(gettext(
                    'relief_mall.msg_payment_twice', sale=sale.rec_name))
        if amount != sale.total_amount:
            raise PaymentError(gettext(
                    'relief_mall.msg_payment_amount', sale=sale.rec_name,
                    amount=amount, total=sale.total_amount))

    @classmethod
    def book(cls, shop, sale, amount, transaction):
        """Return the member's receivable payment of amount, succeeded on
        the shop's journal (its clearing move debits the provider)"""
        pool = Pool()
        Payment = pool.get('account.payment')
        Group = pool.get('account.payment.group')
        Date = pool.get('ir.date')
        with Transaction().set_context(company=sale.company.id):
            today = Date.today()
        payment = Payment(
            company=sale.company, journal=shop.mall_payment_journal,
            kind='receivable', party=sale.party, amount=amount,
            currency=sale.currency, date=today, origin=sale,
            reference=transaction)
        payment.save()
        # A receivable payment goes from submitted to processing (no
        # approval), in a group of its journal like the Process wizard's
        Payment.submit([payment])

        def group():
            group = Group(company=sale.company, journal=payment.journal,
                kind='receivable')
            group.save()
            return group
        Payment.process([payment], group)
        Payment.succeed([payment])
        return payment

    @classmethod
    def refund(cls, sale):
        """Record the provider's refund of the order's payments: in
        Tryton's terms the payment failed after it had succeeded, which
        cancels its clearing move (the member's receivable and the
        provider's clearing account are back where they were)"""
        Payment = Pool().get('account.payment')
        payments = [p for p in sale.payments
            if p.kind == 'receivable' and p.state == 'succeeded']
        Payment.fail(payments)
        return payments

    @classmethod
    def fulfil(cls, sales):
        """Process the paid order: its shipment is made; its invoice, made
        when the goods leave, is reconciled with the payment by
        sale_payment when posted"""
        Sale = Pool().get('sale.sale')
        Sale.process(Sale.browse(sales if isinstance(sales, list)
                else [sales]))


def money(value):
    "Return value (a JSON number or string) as a Decimal of cents, or None"
    try:
        amount = Decimal(str(value))
    except Exception:
        return None
    if not amount.is_finite() or amount != amount.quantize(Decimal('0.01')):
        return None
    return amount.quantize(Decimal('0.01'))
