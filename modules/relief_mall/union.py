# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Unions ordering their festival gifts themselves (B2B, the web client).

A union buyer (a user linked to a union, group 工会采购员) orders for their
union; the order's delivery list, imported from Excel, becomes one customer
shipment per delivery address.  Before confirmation the order shows its
effect on the union's plan, reserved quota and fund rules; the back office
confirms it, and confirming refuses what the reserved quota does not
cover."""
import datetime as dt
from collections import defaultdict
from decimal import Decimal
from functools import partial
from itertools import groupby

from sql import Literal
from sql.aggregate import Sum
from sql.functions import Extract

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Workflow, fields, sequence_ordered)
from trytond.model.exceptions import AccessError
from trytond.modules.relief.excel import (
    Column, Layout, quote, raise_errors, read_workbook, suggest,
    write_workbook)
from trytond.modules.relief.totals import lock_rows
from trytond.modules.relief_union.sale import SPENDING
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, Id
from trytond.tools import sortable_values
from trytond.transaction import (
    Transaction, check_access, without_check_access)
from trytond.wizard import Button, StateTransition, StateView, Wizard

TEN_THOUSAND = 10000
NAME, STREET, PRODUCT, QUANTITY = "收货单位", "收货地址", "商品", "数量"
# 配送清单: a row per recipient and product
LAYOUT = Layout(
    title="节日慰问品配送清单",
    columns=[
        Column('sequence', "序号", type='integer', minimum=1),
        Column('name', NAME, required=True, key=True, size=100, width=30),
        Column('contact', "联系人", size=50),
        Column('phone', "联系电话", type='phone', required=True, size=50),
        Column('street', STREET, required=True, key=True, size=200,
            width=40),
        Column('product', PRODUCT, required=True, key=True, size=100,
            width=24),
        Column('quantity', QUANTITY, type='numeric', required=True),
        Column('comment', "备注", size=200),
        ],
    header_lines=["订购单位："],
    footer_lines=["填报人：", "联系电话："])
# Shown for a union buyer: the back office confirms
BUYER = Id('relief_mall', 'group_union_buyer').in_(
    Eval('context', {}).get('groups', []))


class UnionQuotaError(UserError):
    "A union order above what the union's reserved quota has left"
    pass


class DeliveryError(UserError):
    "A delivery list that does not match the order"
    pass


def _is_union_buyer():
    "Whether the user orders for a union (group 工会采购员)"
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    if not Transaction().user:
        return False
    group = ModelData.get_id('relief_mall', 'group_union_buyer')
    return group in User.get_groups() and bool(User.get_relief_unions())


class Delivery(sequence_ordered(), ModelSQL, ModelView):
    "Union Order Delivery"
    __name__ = 'relief.mall.delivery'
    __access__ = {'sale'}
    _states = {'readonly': Eval('sale_state') != 'draft'}

    sale = fields.Many2One(
        'sale.sale', "Sale", required=True, ondelete='CASCADE',
        states=_states)
    recipient = fields.Many2One(
        'party.party', "Recipient Union", ondelete='RESTRICT',
        domain=[('union_level', '!=', None)], states=_states,
        help="The grassroots union that receives the goods, when it is "
        "known to the platform.")
    name = fields.Char(
        "Recipient", required=True, states=_states,
        help="收货单位: the grassroots union or member the goods go to.")
    contact = fields.Char("Contact", states=_states)
    phone = fields.Char("Phone", required=True, states=_states)
    street = fields.Text("Address", required=True, states=_states)
    product = fields.Many2One(
        'product.product', "Product", required=True, ondelete='RESTRICT',
        domain=[('salable', '=', True)], states=_states)
    quantity = fields.Float(
        "Quantity", digits='unit', required=True,
        domain=[('quantity', '>', 0)], states=_states)
    unit = fields.Function(fields.Many2One(
            'product.uom', "Unit"), 'on_change_with_unit')
    comment = fields.Char("Comment", states=_states)
    address = fields.Many2One(
        'party.address', "Delivery Address", readonly=True,
        ondelete='RESTRICT',
        help="The customer's address the shipment goes to, made from the "
        "delivery list when the order is shipped.")
    moves = fields.One2Many(
        'stock.move', 'relief_delivery', "Moves", readonly=True)
    sale_state = fields.Function(fields.Selection(
            'get_sale_states', "Sale State"), 'on_change_with_sale_state')

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.sale, Index.Equality())))

    @fields.depends('product')
    def on_change_with_unit(self, name=None):
        if self.product:
            return self.product.sale_uom

    @classmethod
    def get_sale_states(cls):
        return Pool().get('sale.sale')._fields['state'].selection

    @classmethod
    def copy(cls, deliveries, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('address')
        default.setdefault('moves')
        return super().copy(deliveries, default=default)

    @fields.depends('sale', '_parent_sale.state')
    def on_change_with_sale_state(self, name=None):
        if self.sale:
            return self.sale.state

    def get_rec_name(self, name):
        return '%s %s' % (self.name, self.product.rec_name)

    @classmethod
    def check_modification(cls, mode, deliveries, values=None,
            external=False):
        super().check_modification(
            mode, deliveries, values=values, external=external)
        if external and (mode != 'write' or values.keys() - {'address'}):
            for delivery in deliveries:
                if delivery.sale.state != 'draft':
                    raise AccessError(gettext(
                            'relief_mall.msg_delivery_sale_draft',
                            sale=delivery.sale.rec_name))

    def get_address(self, party):
        "Return the address of party to ship this delivery to, unsaved"
        Address = Pool().get('party.address')
        attn = ' '.join(filter(None, [self.contact, self.phone]))
        for address in party.addresses:
            if ((address.party_name, address.street_unstructured,
                        address.attn) == (self.name, self.street, attn)):
                return address
        return Address(
            party=party, party_name=self.name, street_unstructured=self.street,
            attn=attn, country=(party.addresses[0].country
                if party.addresses else None))

    @classmethod
    def set_addresses(cls, deliveries):
        """Give each delivery the address of its sale's customer that it
        goes to, making the missing ones (one per place)"""
        Address = Pool().get('party.address')
        made = {}
        for delivery in deliveries:
            if delivery.address:
                continue
            sale = delivery.sale
            party = sale.shipment_party or sale.party
            key = (party, delivery.name, delivery.street, delivery.contact,
                delivery.phone)
            if key not in made:
                made[key] = delivery.get_address(party)
            delivery.address = made[key]
        # The list was checked when imported; the back office ships it
        with without_check_access():
            Address.save([a for a in made.values() if a.id is None])
            cls.save(deliveries)

    @classmethod
    def read_list(cls, sale, data, filename=None):
        """Return the rows of the delivery list of sale with their product
        and recipient, or raise reporting every error at once"""
        if sale.state != 'draft':
            raise DeliveryError(gettext(
                    'relief_mall.msg_delivery_sale_draft',
                    sale=sale.rec_name))
        errors = []
        rows = read_workbook(data, LAYOUT, filename=filename, errors=errors)
        products = cls._list_products(rows)
        recipients = cls._list_recipients(sale, rows)
        for row in rows:
            errors.extend(cls._list_row_errors(row, products))
        errors.sort(key=lambda e: e[1].get('row', 0))
        raise_errors(errors, filename)
        for row in rows:
            row['product'] = products[row['product']]
            row['recipient'] = recipients.get(row['name'])
        return rows

    @classmethod
    def _list_products(cls, rows):
        "Return the salable products named in rows by code or name"
        Product = Pool().get('product.product')
        names = list({r['product'] for r in rows if r.get('product')})
        products = {}
        if not names:
            return products
        for product in Product.search([
                    ('salable', '=', True),
                    ['OR', ('code', 'in', names), ('name', 'in', names)],
                    ], order=[('id', 'DESC')]):
            products[product.name] = product
            if product.code:
                products[product.code] = product
        return products

    @classmethod
    def _list_recipients(cls, sale, rows):
        "Return the unions below the customer named in rows"
        Party = Pool().get('party.party')
        names = list({r['name'] for r in rows if r.get('name')})
        if not names or not sale.party or not sale.party.union_level:
            return {}
        with without_check_access():
            unions = Party.search([
                    ('name', 'in', names),
                    ('union_level', '!=', None),
                    ('union_parent', 'child_of', [sale.party.id]),
                    ])
        return {u.name: u.id for u in unions}

    @classmethod
    def _list_row_errors(cls, row, products):
        "Return the errors of a row beyond its cells"
        errors = []
        name = row.get('product')
        if name is not None and name not in products:
            errors.append(('relief_mall.msg_delivery_product_unknown', {
                        'row': row['_row'], 'column': PRODUCT,
                        'value': quote(name),
                        'hint': suggest(name, products),
                        }))
        quantity = row.get('quantity')
        if quantity is not None and quantity <= 0:
            errors.append(('relief_mall.msg_delivery_quantity_positive', {
                        'row': row['_row'], 'column': QUANTITY,
                        'value': quantity}))
        elif quantity is not None and name in products:
            unit = products[name].sale_uom
            if unit.round(float(quantity)) != float(quantity):
                errors.append(('relief_mall.msg_delivery_quantity_unit', {
                            'row': row['_row'], 'column': QUANTITY,
                            'value': quantity, 'unit': unit.rec_name}))
        return errors

    @classmethod
    def import_list(cls, sale, rows):
        """Replace the delivery list of sale by rows and set the quantities
        of its lines to the list's"""
        cls.delete(list(sale.relief_deliveries))
        cls.save([cls(sale=sale, sequence=i,
                    recipient=row['recipient'], name=row['name'],
                    contact=row.get('contact'), phone=row['phone'],
                    street=row['street'], product=row['product'],
                    quantity=float(row['quantity']),
                    comment=row.get('comment'))
                for i, row in enumerate(rows, 1)])
        cls._set_lines(sale, rows)

    @classmethod
    def _set_lines(cls, sale, rows):
        "Set the quantity of the line of each product, adding those missing"
        pool = Pool()
        Line = pool.get('sale.line')
        Uom = pool.get('product.uom')
        quantities = defaultdict(Decimal)
        for row in rows:
            quantities[row['product']] += row['quantity']
        lines, done = [], set()
        for line in sale.lines:
            product = line.product
            if (line.type != 'line' or product not in quantities
                    or product in done):
                continue
            done.add(product)
            quantity = line.unit.round(Uom.compute_qty(product.sale_uom,
                    float(quantities[product]), line.unit))
            if line.quantity != quantity:
                line.quantity = quantity
                line.on_change_quantity()
                lines.append(line)
        for product, quantity in quantities.items():
            if product in done:
                continue
            line = Line(sale=sale, type='line', product=product,
                quantity=float(quantity), unit=product.sale_uom)
            line.on_change_product()
            line.quantity = float(quantity)
            line.on_change_quantity()
            lines.append(line)
        Line.save(lines)

    def shipped_quantity(self, origin):
        """Return the quantity of the sale line or component origin already
        shipped to this delivery, in its unit"""
        Uom = Pool().get('product.uom')
        skips = set(getattr(origin, 'moves_recreated', []))
        return sum(Uom.compute_qty(m.unit, m.quantity, origin.unit)
            for m in origin.moves
            if m.relief_delivery == self and m not in skips)


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    union_order = fields.Boolean(
        "Union Order", readonly=True,
        help="Ordered by the union itself (a union buyer): confirming it "
        "draws on the union's reserved purchase quota.")
    relief_deliveries = fields.One2Many(
        'relief.mall.delivery', 'sale', "Delivery List",
        states={
            'readonly': Eval('state') != 'draft',
            'invisible': ~Eval('union_order') & ~Eval('relief_deliveries'),
            },
        help="Where the goods go: each address becomes a shipment.")
    union_year = fields.Function(fields.Integer("Plan Year"),
        'get_union_figures')
    union_quota = fields.Function(fields.Numeric(
            "Reserved Quota (CNY)", digits=(16, 2)), 'get_union_figures')
    union_quota_allocated = fields.Function(fields.Numeric(
            "Allocated Below (CNY)", digits=(16, 2)), 'get_union_figures')
    union_quota_used = fields.Function(fields.Numeric(
            "Ordered This Year (CNY)", digits=(16, 2),
            help="The union's other confirmed orders of the year."),
        'get_union_figures')
    union_quota_left = fields.Function(fields.Numeric(
            "Quota Left after This Order (CNY)", digits=(16, 2)),
        'get_union_figures')
    union_members = fields.Function(fields.Integer(
            "Members", help="The members of the union and the unions below "
            "it, as in its plan."), 'get_union_figures')
    union_gift_per_member = fields.Function(fields.Numeric(
            "Gift Money per Member with This Order (CNY)", digits=(16, 2)),
        'get_union_figures')
    union_gift_cap = fields.Function(fields.Numeric(
            "Gift Cap per Member (CNY)", digits=(16, 2)),
        'get_union_figures')
    union_relief_share = fields.Function(fields.Numeric(
            "Relief Share with This Order (%)", digits=(16, 2),
            help="The relief spending of the union and the unions below it "
            "over the gift money of its plan."),
        'get_union_figures')
    union_share_min = fields.Function(fields.Numeric(
            "Minimum Relief Share (%)", digits=(16, 2)), 'get_union_figures')
    union_order_share = fields.Function(fields.Numeric(
            "Relief Share of This Order (%)", digits=(16, 2)),
        'get_union_figures')
    union_effect = fields.Function(fields.Text("Effect on the Union"),
        'get_union_figures')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # The back office confirms and processes a union buyer's orders
        for name in ['confirm', 'process']:
            button = cls._buttons.setdefault(name, {})
            button['invisible'] = button.get('invisible', False) | BUYER
        cls._buttons.update({
                'relief_import_deliveries': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('//page[@id="union_order"]', 'states', {
                    'invisible': (
                        ~Eval('union_order') & ~Eval('relief_deliveries')),
                    }),
            ]

    @classmethod
    def default_union_order(cls):
        return _is_union_buyer()

    @classmethod
    def default_party(cls):
        pool = Pool()
        User = pool.get('res.user')
        party = getattr(super(), 'default_party', lambda: None)()
        if party is None and _is_union_buyer():
            party = User.get_relief_unions()[0]
        return party

    @classmethod
    @ModelView.button_action('relief_mall.wizard_delivery_import')
    def relief_import_deliveries(cls, sales):
        pass

    @classmethod
    def create(cls, vlist):
        # A union buyer's order is a union order, whatever the call says
        if Transaction().check_access and _is_union_buyer():
            vlist = [dict(v, union_order=True) for v in vlist]
        return super().create(vlist)

    @classmethod
    def check_modification(cls, mode, sales, values=None, external=False):
        super().check_modification(
            mode, sales, values=values, external=external)
        if not external:
            return
        # Only the buttons change the state (they write it internally)
        if mode == 'write' and sales and values.keys() & {
                'state', 'union_order'}:
            raise AccessError(gettext(
                    'relief_mall.msg_sale_state_modify',
                    sale=sales[0].rec_name))
        elif mode == 'create':
            for sale in sales:
                if sale.state != 'draft':
                    raise AccessError(gettext(
                            'relief_mall.msg_sale_state_modify',
                            sale=sale.rec_name))

    # The delivery list

    def check_for_quotation(self):
        super().check_for_quotation()
        self.check_relief_deliveries()

    def check_relief_deliveries(self):
        "Refuse a delivery list whose quantities are not the lines'"
        pool = Pool()
        Lang = pool.get('ir.lang')
        Uom = pool.get('product.uom')
        if not self.relief_deliveries:
            return
        ordered, delivered = defaultdict(float), defaultdict(float)
        for line in self.line_lines:
            if line.product and line.movable and line.quantity > 0:
                ordered[line.product] += Uom.compute_qty(
                    line.unit, line.quantity, line.product.sale_uom,
                    round=False)
        for delivery in self.relief_deliveries:
            delivered[delivery.product] += delivery.quantity
        lang = Lang.get()
        for product in sorted(ordered.keys() | delivered.keys(),
                key=lambda p: p.rec_name):
            unit = product.sale_uom
            if abs(ordered[product] - delivered[product]) > unit.rounding / 2:
                raise DeliveryError(gettext(
                        'relief_mall.msg_delivery_mismatch',
                        sale=self.rec_name, product=product.rec_name,
                        ordered=lang.format_number_symbol(
                            unit.round(ordered[product]), unit),
                        delivered=lang.format_number_symbol(
                            unit.round(delivered[product]), unit)))

    def create_shipment(self, shipment_type):
        # The moves of a line go to several places: sale's create_shipment
        # keeps one move per line, so the grouping is done here.
        if shipment_type != 'out' or not self.relief_deliveries:
            return super().create_shipment(shipment_type)
        if (self.shipment_method == 'manual'
                and not Transaction().context.get(
                    '_sale_manual_shipment', False)):
            return
        Shipment = Pool().get('stock.shipment.out')
        moves = self._relief_delivery_moves(
            self._get_shipment_moves(shipment_type))
        if not moves:
            return
        keyfunc = partial(self._group_shipment_key, [m for _, m in moves])
        moves = sorted(moves, key=sortable_values(keyfunc))
        shipments = []
        for key, grouped in groupby(moves, key=keyfunc):
            shipment = self._get_shipment_sale(Shipment, key)
            shipment.moves = (list(getattr(shipment, 'moves', []))
                + [m for _, m in grouped])
            shipments.append(shipment)
        return shipments

    def _relief_delivery_moves(self, moves):
        """Split the move of each line (or gift pack component) into a move
        per delivery of its product still to ship; return [(origin, move)]"""
        pool = Pool()
        Delivery = pool.get('relief.mall.delivery')
        Uom = pool.get('product.uom')
        Delivery.set_addresses(list(self.relief_deliveries))
        deliveries = defaultdict(list)
        for delivery in self.relief_deliveries:
            deliveries[delivery.product].append(delivery)
        result = []
        for origin, move in moves.items():
            line, ratio = origin, 1
            if origin.__name__ == 'sale.line.component':
                # The component's quantity for one unit of the gift pack
                line = origin.line
                ratio = origin.quantity / line.quantity
            quantity = move.quantity
            for delivery in deliveries[line.product]:
                wanted = origin.unit.round(ratio * Uom.compute_qty(
                        delivery.unit, delivery.quantity, line.unit))
                part = min(quantity,
                    wanted - delivery.shipped_quantity(origin))
                if part <= 0:
                    continue
                piece = origin.get_move('out')
                piece.quantity = part
                piece.relief_delivery = delivery
                result.append((origin, piece))
                quantity = origin.unit.round(quantity - part)
            if quantity > 0:
                # Beyond the list (changed after quotation): to the address
                # of the sale
                move.quantity = quantity
                result.append((origin, move))
        return result

    def _group_shipment_key(self, moves, move):
        key = super()._group_shipment_key(moves, move)
        delivery = getattr(move[1], 'relief_delivery', None)
        if delivery and delivery.address:
            key += (('delivery_address', delivery.address.id),)
        return key

    def _get_shipment_sale(self, Shipment, key):
        shipment = super()._get_shipment_sale(Shipment, key)
        address = dict(key).get('delivery_address')
        if address is not None and Shipment.__name__ == 'stock.shipment.out':
            shipment.delivery_address = address
        return shipment

    # The union's plan, quota and fund rules

    @classmethod
    @ModelView.button
    @Workflow.transition('confirmed')
    def confirm(cls, sales):
        cls.check_union_quota(sales)
        super().confirm(sales)

    @classmethod
    def check_union_quota(cls, sales):
        """Refuse the union orders that the union's reserved quota does not
        cover; two confirmations for one union are serialized on its plan"""
        pool = Pool()
        Lang = pool.get('ir.lang')
        Plan = pool.get('relief.union.plan')
        sales = [s for s in sales if s.union_order]
        if not sales:
            return
        plan = Plan.__table__()
        keys = {(s.party.id, cls._union_year(s)) for s in sales}
        for union, year in sorted(keys):
            lock_rows(plan, (plan.union == union) & (plan.year == year),
                gettext('relief_mall.msg_union_quota_lock'))
        figures = cls.union_figures(sales)
        lang = Lang.get()

        def number(value):
            return lang.format_number(value, 2)
        for sale in sales:
            figure = figures[sale.id]
            if figure['union_quota'] is None:
                raise UnionQuotaError(gettext(
                        'relief_mall.msg_union_quota_missing',
                        sale=sale.rec_name, union=sale.party.rec_name,
                        year=figure['union_year']))
            if figure['union_quota_left'] < 0:
                raise UnionQuotaError(gettext(
                        'relief_mall.msg_union_quota_over',
                        sale=sale.rec_name, union=sale.party.rec_name,
                        year=figure['union_year'],
                        amount=number(figure['amount']),
                        left=number(figure['union_quota_left']
                            + figure['amount']),
                        quota=number(figure['union_quota']),
                        allocated=number(figure['union_quota_allocated']),
                        used=number(figure['union_quota_used'])))

    @staticmethod
    def _union_year(sale):
        date = sale.sale_date or Pool().get('ir.date').today()
        return date.year

    @classmethod
    def get_union_figures(cls, sales, names):
        figures = cls.union_figures(sales)
        return {name: {s.id: figures[s.id].get(name) for s in sales}
            for name in names}

    @classmethod
    def union_figures(cls, sales):
        "Return the figures of the union of each sale by its id"
        result = {s.id: {} for s in sales}
        unions = [s for s in sales if s.party and s.party.union_level]
        if not unions:
            return result
        # The buyer sees the figures of their union without reading plans
        with without_check_access():
            sales = cls.browse([s.id for s in unions])
            keys = {(s.party, cls._union_year(s)) for s in sales}
            plans = cls._union_plans(keys)
            used = cls._union_ordered(keys)
            spending = cls._union_spending(keys)
            rules = cls._union_rules(keys)
            for sale in sales:
                key = (sale.party, cls._union_year(sale))
                result[sale.id] = sale._union_figure(
                    plans.get(key), used.get(key, Decimal(0)),
                    spending.get(key, Decimal(0)), rules.get(key, {}))
        return result

    def _union_figure(self, plan, used, spending, rules):
        "Return the figures of the union of the sale with this order"
        amount = self.total_amount or Decimal(0)
        relief = sum((line.get_relief_amount() or Decimal(0)
                for line in self.line_lines), Decimal(0))
        if self.state in SPENDING:
            # Counted already: show the union without it, then with it
            used -= amount
            spending -= sum((line.relief_amount or Decimal(0)
                    for line in self.line_lines), Decimal(0))
        figure = {
            'union_year': self._union_year(self),
            'amount': amount,
            'union_quota_used': used,
            'union_gift_cap': rules.get('gift_cap'),
            'union_share_min': rules.get('share_min'),
            'union_order_share': (
                _percent(relief, amount) if amount else None),
            }
        if plan:
            quota = _cny(plan.quota)
            allocated = _cny(plan.allocated) or Decimal(0)
            members = int((plan.workers or 0) * TEN_THOUSAND) or (
                self.party.union_members_total)
            gift_money = _cny(plan.gift_total)
            figure.update({
                    'union_quota': quota,
                    'union_quota_allocated': allocated,
                    'union_quota_left': (quota - allocated - used - amount
                        if quota is not None else None),
                    'union_members': members,
                    'union_gift_per_member': (
                        ((used + amount) / members).quantize(Decimal('0.01'))
                        if members else None),
                    'union_relief_share': (_percent(spending + relief,
                            gift_money) if gift_money else None),
                    })
        figure['union_effect'] = self._union_effect(figure)
        return figure

    def _union_effect(self, figure):
        "Explain the figures in the user's language"
        lang = Pool().get('ir.lang').get()

        def number(value):
            return lang.format_number(value, 2) if value is not None else '-'
        params = {k: number(v) if isinstance(v, Decimal) else v
            for k, v in figure.items()}
        params['union'] = self.party.rec_name
        if figure.get('union_quota') is None:
            lines = [gettext('relief_mall.msg_union_effect_no_quota',
                    **params)]
        else:
            lines = [gettext(
                    'relief_mall.msg_union_effect_quota_ok'
                    if figure['union_quota_left'] >= 0
                    else 'relief_mall.msg_union_effect_quota_over',
                    **params)]
        cap = figure.get('union_gift_cap')
        per_member = figure.get('union_gift_per_member')
        if cap is not None and per_member is not None:
            lines.append(gettext(
                    'relief_mall.msg_union_effect_gift_ok'
                    if per_member <= cap
                    else 'relief_mall.msg_union_effect_gift_over', **params))
        minimum = figure.get('union_share_min')
        share = figure.get('union_relief_share')
        if minimum is not None and share is not None:
            lines.append(gettext(
                    'relief_mall.msg_union_effect_share_ok'
                    if share >= minimum
                    else 'relief_mall.msg_union_effect_share_low', **params))
        return '\n'.join(lines)

    @classmethod
    def _union_plans(cls, keys):
        "Return the plan of each (union, year)"
        Plan = Pool().get('relief.union.plan')
        plans = Plan.search([
                ('union', 'in', list({u.id for u, _ in keys})),
                ('year', 'in', list({y for _, y in keys})),
                ])
        return {(p.union, p.year): p for p in plans}

    @classmethod
    def _union_ordered(cls, keys):
        "Return what each (union, year) ordered in counted sales, in SQL"
        sale = cls.__table__()
        cursor = Transaction().connection.cursor()
        year = Extract('YEAR', sale.sale_date)
        cursor.execute(*sale.select(
                sale.party, year, Sum(sale.total_amount_cache),
                where=sale.party.in_(list({u.id for u, _ in keys}))
                & sale.state.in_(SPENDING)
                & (year.in_(list({y for _, y in keys}))),
                group_by=[sale.party, year]))
        Party = Pool().get('party.party')
        return {(Party(u), int(y)): Decimal(str(a or 0))
            for u, y, a in cursor}

    @classmethod
    def _union_spending(cls, keys):
        """Return the relief spending of each (union, year) with the unions
        below it (the running totals of relief_union)"""
        pool = Pool()
        Party = pool.get('party.party')
        Spending = pool.get('relief.union.spending')
        party = Party.__table__()
        spending = Spending.__table__()
        cursor = Transaction().connection.cursor()
        result = {}
        for union, year in keys:
            if union.union_left is None:
                continue
            cursor.execute(*spending.join(
                    party, condition=spending.union == party.id).select(
                    Sum(spending.amount),
                    where=(party.union_left >= union.union_left)
                    & (party.union_right <= union.union_right)
                    & (spending.year == year)))
            amount, = cursor.fetchone()
            result[(union, year)] = Decimal(str(amount or 0))
        return result

    @classmethod
    def _union_rules(cls, keys):
        "Return the fund rules in force for each (union, year)"
        pool = Pool()
        Date = pool.get('ir.date')
        Rule = pool.get('relief.rule')
        today = Date.today()
        result = {}
        for union, year in keys:
            if not union.union_area:
                continue
            date = min(today, dt.date(year, 12, 31))
            area = union.union_area
            share_min = Rule.get_values('relief_share_min', [area], date)
            gift_cap = Rule.get_values('festival_gift_cap', [area], date)
            result[(union, year)] = {
                'share_min': _decimal(share_min.get(area.id)),
                'gift_cap': _decimal(gift_cap.get(area.id)),
                }
        return result


def _cny(ten_thousands):
    "Return an amount in 10,000 CNY in CNY"
    if ten_thousands is not None:
        return (Decimal(ten_thousands) * TEN_THOUSAND).quantize(
            Decimal('0.01'))


def _decimal(value):
    return Decimal(str(value)) if value is not None else None


def _percent(part, whole):
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal('0.01'))


class Move(metaclass=PoolMeta):
    __name__ = 'stock.move'

    relief_delivery = fields.Many2One(
        'relief.mall.delivery', "Delivery", readonly=True,
        ondelete='RESTRICT',
        states={'invisible': ~Eval('relief_delivery')},
        help="The row of the order's delivery list this move ships.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.relief_delivery, Index.Equality()),
                where=t.relief_delivery != Literal(None)))

    @classmethod
    def copy(cls, moves, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('relief_delivery')
        return super().copy(moves, default=default)


# Importing the delivery list

class DeliveryImport(Wizard):
    "Import the Delivery List"
    __name__ = 'relief.mall.delivery.import'
    start = StateView(
        'relief.mall.delivery.import.start',
        'relief_mall.delivery_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()

    def default_start(self, fields):
        layout = Layout(
            LAYOUT.columns, title=LAYOUT.title,
            header_lines=["订购单位：" + (self.record.party.rec_name
                    if self.record and self.record.party else '')],
            footer_lines=LAYOUT.footer_lines)
        return {
            'template': write_workbook(layout, []),
            'template_name': LAYOUT.title + '.xlsx',
            }

    def transition_import_(self):
        Delivery = Pool().get('relief.mall.delivery')
        sale = self.record
        rows = Delivery.read_list(
            sale, self.start.file, filename=self.start.filename)
        # As the user: the buyer's rules hold for what the import writes
        with check_access():
            Delivery.import_list(sale, rows)
        return 'end'


class DeliveryImportStart(ModelView):
    "Import the Delivery List"
    __name__ = 'relief.mall.delivery.import.start'

    file = fields.Binary("File", required=True, filename='filename')
    filename = fields.Char("File Name")
    template = fields.Binary(
        "Template", readonly=True, filename='template_name')
    template_name = fields.Char("Template Name", readonly=True)
