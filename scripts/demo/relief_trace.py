# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Demo data of relief_trace: lots with their origin, packed gift packs,
shipments to unions and members, one recalled lot.

The back office receives the purchases of relief_certification's demo into
lots that record their origin (the supplier's county from its certificate;
bases, dates, households and inspection reports are invented), packs a
gift pack of products of four counties (中秋大礼包) in the warehouse, ships
gift packs to unions and products to members, and recalls a lot of one of
the pack's components: the recall lists the unions and members reached.

The QR codes hold GS1 Digital Links (every demo product has an invented
GTIN of a GS1 China prefix) on a public base, https://trace.example-relief.cn
or RELIEF_TRACE_BASE: labels never point at the local machine.  The demo
server answers the same paths locally (scripts/run):
http://127.0.0.1:8000/<database>/relief/trace/01/<GTIN-14>/10/<lot>."""
import datetime as dt
import os
import random
from decimal import Decimal

from proteus import Model

from relief_certification import _click, _create, _ref, as_user, gtin13

PACK_NAME = "中秋大礼包（多县组合装）"
PACK_CODE = 'LB-ZQ'
# The pack's invented GTIN: the distributor's own company number
PACK_GTIN = gtin13(9001, 1)
PUBLIC_BASE = 'https://trace.example-relief.cn'
# The UN/ECE Recommendation 20 codes of the demo's counted units (created
# by relief_certification's demo), which EPCIS exports need
UN_CODES = {'盒': 'XBX', '袋': 'XBG', '瓶': 'XBO', '箱': 'XCT'}
# The components preferred for the pack, by product name, in this order;
# completed with other received products of other counties.
PREFERRED = [
    "周至猕猴桃礼盒（翠香 24枚）", "汉阴富硒绿茶（250g 礼盒）",
    "柞水木耳（250g）", "米脂小米（2.5kg）"]
COMPONENTS = 4
# Pack lots, packed from the first lots of the components: packs share a
# component lot when its product has one lot only (each pack's EPCIS shows
# its own packing only, epcis._in_history)
PACKS = 2
RECALL_REASON = (
    "市场监管部门抽检发现该批次农药残留超标（演示数据，事件为虚构）。")
BASES = ["专业合作社种植基地", "现代农业产业园", "扶贫车间", "生态种植基地"]
LABS = ["陕西省产品质量监督检验研究院", "安康市食品检验检测中心",
    "汉中市农产品质量安全检测站"]


def load(config, passwords):
    rng = random.Random(2263)  # the same data at every build
    Date = Model.get('ir.date', config=config)
    today = Date._proxy.today(config.context)
    set_base_url(config)
    set_un_codes(config)
    grant_production(config)
    with as_user(config, 'backoffice'):
        lots = receive_purchases(config, rng, today)
    # The administrator defines the gift pack (a product with accounts) ...
    pack, bom, chosen = define_gift_pack(config, lots)
    # ... the back office packs, ships and recalls.
    with as_user(config, 'backoffice'):
        pack_lots = pack_gift_packs(config, lots, pack, bom, chosen, today)
        recalled = ship_sales(config, rng, lots, pack, pack_lots, today)
        recall(config, recalled)


def _search_read(config, model, domain, fields, order=None):
    return Model.get(model, config=config)._proxy.search_read(
        domain, 0, None, order, fields, config.context)


def set_base_url(config):
    Configuration = Model.get('relief.configuration', config=config)
    configuration = Configuration(1)
    configuration.trace_base_url = (
        os.environ.get('RELIEF_TRACE_BASE') or PUBLIC_BASE)
    configuration.save()


def set_un_codes(config):
    "The Rec 20 codes of the demo's counted units"
    Uom = Model.get('product.uom', config=config)
    for uom in Uom.find([('symbol', 'in', list(UN_CODES))]):
        if not uom.relief_un_code:
            uom.relief_un_code = UN_CODES[uom.symbol]
            uom.save()


def grant_production(config):
    "The back office packs gift packs: it needs the production group"
    User = Model.get('res.user', config=config)
    Group = Model.get('res.group', config=config)
    user, = User.find([('login', '=', 'backoffice')])
    group = Group(_ref(config, 'production.group_production'))
    if group not in user.groups:
        user.groups.append(group)
        user.save()


def receive_purchases(config, rng, today):
    """Receive the confirmed purchases of relief products into lots of
    their origin; return the lots by product id"""
    Move = Model.get('stock.move', config=config)
    Party = Model.get('party.party', config=config)
    Shipment = Model.get('stock.shipment.in', config=config)
    purchases = _search_read(config, 'purchase.purchase', [
            ('state', '=', 'processing'),
            ], ['party', 'purchase_date', 'number'], order=[('id', 'ASC')])
    certifications = {c['supplier']: c for c in _search_read(
            config, 'relief.supplier.certification', [
                ('supplier', 'in', [p['party'] for p in purchases]),
                ('state', 'in', ['certified', 'suspended']),
                ], ['supplier', 'county', 'county.name', 'poor_people'])}
    moves = _search_read(config, 'stock.move', [
            ('purchase', 'in', [p['id'] for p in purchases]),
            ('state', '=', 'draft'),
            ('product.template.relief', '=', True),
            ], ['product', 'quantity', 'purchase'], order=[('id', 'ASC')])
    purchases = {p['id']: p for p in purchases}
    lots, links = [], []
    for i, move in enumerate(moves, 1):
        purchase = purchases[move['purchase']]
        certification = certifications.get(purchase['party'])
        if not certification:
            continue
        bought = purchase['purchase_date']
        produced = bought - dt.timedelta(days=rng.randint(3, 25))
        inspected = min(produced + dt.timedelta(days=rng.randint(1, 3)),
            bought)
        county = certification['county.']['name']
        lots.append({
                'number': f"{produced:%y%m%d}-{i:03d}",
                'product': move['product'],
                'relief_supplier': purchase['party'],
                'relief_county': certification['county'],
                'relief_base': county + rng.choice(BASES),
                'production_date': produced,
                'poor_households': rng.randint(
                    5, max(6, (certification['poor_people'] or 10) // 3)),
                'inspection_date': inspected,
                'inspection_result': 'passed',
                'inspection_report': (
                    f"JC{inspected:%Y%m%d}{rng.randint(1000, 9999)}"),
                })
        links.append((move, bought))
    created = _create(config, 'stock.lot', lots)
    by_purchase = {}
    for (move, bought), lot in zip(links, created):
        received = min(bought + dt.timedelta(days=2), today)
        Move._proxy.write([move['id']], {
                'lot': lot.id, 'effective_date': received},
            config.context)
        by_purchase.setdefault(move['purchase'], []).append(move['id'])
    shipments = []
    for purchase_id, ids in by_purchase.items():
        purchase = purchases[purchase_id]
        shipment = Shipment(supplier=Party(purchase['party']))
        shipment.effective_date = min(
            purchase['purchase_date'] + dt.timedelta(days=2), today)
        for move_id in ids:
            shipment.incoming_moves.append(Move(move_id))
        shipment.save()
        shipments.append(shipment)
    _click(shipments, 'receive')
    _click(shipments, 'do')
    result = {}
    for lot in created:
        result.setdefault(lot.product.id, []).append(lot)
    return result


def _quantity(config, lot):
    "The quantity of lot in the warehouse"
    Lot = Model.get('stock.lot', config=config)
    Location = Model.get('stock.location', config=config)
    warehouse, = Location.find([('type', '=', 'warehouse')], limit=1)
    with config.set_context(locations=[warehouse.id]):
        return Lot(lot.id).quantity


def define_gift_pack(config, lots):
    """The gift pack of products of several counties and its bill of
    materials; return them and its components"""
    Template = Model.get('product.template', config=config)
    products = {p['id']: p for p in _search_read(
            config, 'product.product', [('id', 'in', list(lots))],
            ['name', 'template', 'default_uom', 'template.relief_listed'])}
    listed = [p for p in products.values()
        if p['template.']['relief_listed']
        and all(_quantity(config, l) >= 40 for l in lots[p['id']][:PACKS])
        and len(lots[p['id']]) >= 1]
    listed.sort(key=lambda p: (
            PREFERRED.index(p['name']) if p['name'] in PREFERRED else 99,
            p['id']))
    chosen, counties = [], set()
    for product in listed:
        county = lots[product['id']][0].relief_county.id
        if county in counties:
            continue
        chosen.append(product)
        counties.add(county)
        if len(chosen) == COMPONENTS:
            break
    first = Template(chosen[0]['template'])
    template, = _create(config, 'product.template', [{
                'name': PACK_NAME,
                'code': PACK_CODE,
                'type': 'goods',
                'producible': True,
                'salable': True,
                'default_uom': chosen[0]['default_uom'],
                'sale_uom': chosen[0]['default_uom'],
                'list_price': Decimal(198),
                'cost_price_method': 'average',
                'account_category': first.account_category.id,
                'categories': [('add', [c.id for c in first.categories])],
                'products': [('create', [{
                                'identifiers': [('create', [{
                                                'type': 'ean',
                                                'code': PACK_GTIN}])],
                                }])],
                }])
    pack = template.products[0]
    bom, = _create(config, 'production.bom', [{
                'name': PACK_NAME,
                'inputs': [('create', [{
                                'product': p['id'],
                                'quantity': 1,
                                'unit': p['default_uom'],
                                } for p in chosen])],
                'outputs': [('create', [{
                                'product': pack.id,
                                'quantity': 1,
                                'unit': chosen[0]['default_uom'],
                                }])],
                }])
    Product = Model.get('product.product', config=config)
    Product._proxy.write([pack.id], {
            'boms': [('create', [{'bom': bom.id}])]}, config.context)
    return pack, bom, chosen


def pack_gift_packs(config, lots, pack, bom, chosen, today):
    "Pack the gift packs from the components' lots; return the pack lots"
    Lot = Model.get('stock.lot', config=config)
    Product = Model.get('product.product', config=config)
    Production = Model.get('production', config=config)
    pack_lots = []
    for i in range(PACKS):
        component_lots = {p['id']: lots[p['id']][i % len(lots[p['id']])]
            for p in chosen}
        quantity = int(min(_quantity(config, l)
                for l in component_lots.values()) // (PACKS + 1))
        date = today - dt.timedelta(days=PACKS - i)
        pack_lot, = _create(config, 'stock.lot', [{
                    'number': f"ZQ{date:%y%m%d}-{i + 1:02d}",
                    'product': pack.id,
                    }])
        production = Production(
            product=Product(pack.id), bom=bom, quantity=quantity,
            planned_date=date, planned_start_date=date)
        production.save()
        production.click('wait')
        production.click('assign_try')
        for input_ in production.inputs:
            input_.lot = Lot(component_lots[input_.product.id].id)
        output, = production.outputs
        output.lot = Lot(pack_lot.id)
        production.save()
        production.click('run')
        production.click('do')
        pack_lots.append(pack_lot)
    return pack_lots


def _buyers(config, rng):
    "Some grassroots unions and some members (relief_union's demo)"
    Party = Model.get('party.party', config=config)
    if 'union_level' not in Party._fields:
        parties = Party.find([], limit=6)
        return parties[:3], parties[3:]
    unions = Party.find([('union_level', '=', 'grassroots')],
        order=[('id', 'ASC')], limit=60)
    members = Party.find([('member_union', '!=', None)],
        order=[('id', 'ASC')], limit=60)
    return rng.sample(unions, 3), rng.sample(members, 4)


def _ship(config, sale, lots):
    "Ship the sale from the lots of its products"
    Shipment = Model.get('stock.shipment.out', config=config)
    Lot = Model.get('stock.lot', config=config)
    shipment, = Shipment.find([('id', 'in', [s.id for s in sale.shipments])])
    shipment.click('assign_try')
    for move in shipment.inventory_moves:
        move.lot = Lot(lots[move.product.id].id)
    shipment.save()
    shipment.click('pick')
    shipment.click('pack')
    shipment.click('do')


def ship_sales(config, rng, lots, pack, pack_lots, today):
    """Sell and ship gift packs to unions and products to members;
    return the lot to recall (a component of the first pack lot)"""
    Sale = Model.get('sale.sale', config=config)
    Party = Model.get('party.party', config=config)
    Product = Model.get('product.product', config=config)
    PaymentTerm = Model.get('account.invoice.payment_term', config=config)
    term, = PaymentTerm.find([], limit=1)
    unions, members = _buyers(config, rng)
    first_pack = Model.get('stock.lot', config=config)(pack_lots[0].id)
    components = list(first_pack.relief_packed_from)
    recalled = components[0]
    other = [c for c in components[1:]]

    def sale(party, product, quantity, b2b):
        sale = Sale(party=Party(party.id))
        if b2b:
            sale.payment_term = term
        sale.description = ("节日慰问品（演示数据）" if b2b
            else "会员商城订单（演示数据）")
        line = sale.lines.new()
        line.product = Product(product)
        line.quantity = quantity
        sale.click('quote')
        sale.click('confirm')
        return sale

    for i, union in enumerate(unions):
        pack_lot = pack_lots[i % len(pack_lots)]
        _ship(config, sale(union, pack.id, rng.randint(5, 10), True),
            {pack.id: pack_lot})
    for i, member in enumerate(members):
        lot = recalled if i % 2 == 0 else other[i % len(other)]
        _ship(config, sale(member, lot.product.id, rng.randint(1, 3), False),
            {lot.product.id: lot})
    return recalled


def recall(config, lot):
    "The back office recalls a lot packed into the gift packs"
    Recall = Model.get('relief.trace.recall', config=config)
    Lot = Model.get('stock.lot', config=config)
    recall = Recall(lot=Lot(lot.id), reason=RECALL_REASON)
    recall.save()
    recall.click('start')
