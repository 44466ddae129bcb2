# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The world of the traceability scenarios: a distributor with its accounts,
two certified and listed relief products of two counties (kiwis of 周至县
with a GTIN, walnuts of 洛南县 without), their suppliers, a gift box, a union
and a member, and a back office user."""
import datetime as dt
import functools
import json
import os
from decimal import Decimal

from proteus import Model
from trytond.modules.account.tests.tools import (
    create_chart, create_fiscalyear, get_accounts)
from trytond.modules.account_invoice.tests.tools import (
    create_payment_term, set_fiscalyear_invoice_sequences)
from trytond.modules.company.tests.tools import get_company


def setup(config):
    "Create the world; return its records by name"
    Group = Model.get('res.group')
    User = Model.get('res.user')
    Party = Model.get('party.party')
    ProductCategory = Model.get('product.category')
    ProductUom = Model.get('product.uom')
    Template = Model.get('product.template')
    Subdivision = Model.get('country.subdivision')
    SupplierCertification = Model.get('relief.supplier.certification')
    ProductCertification = Model.get('relief.product.certification')
    CatalogueEntry = Model.get('relief.catalogue.entry')
    today = dt.date.today()
    w = {'today': today}

    create_chart()
    fiscalyear = set_fiscalyear_invoice_sequences(
        create_fiscalyear(today=today))
    fiscalyear.click('create_period')
    accounts = get_accounts()
    w['payment_term'] = create_payment_term()
    w['payment_term'].save()

    back_office = User(login='back_office', name="后台 王主管")
    for name in ["Consumption Assistance Back Office", "Sales", "Purchase",
            "Stock", "Production"]:
        back_office.groups.append(Group.find([('name', '=', name)])[0])
    back_office.companies.append(get_company())
    back_office.company = get_company()
    back_office.save()
    w['back_office'] = back_office

    category = ProductCategory(name="消费帮扶产品")
    category.accounting = True
    category.account_expense = accounts['expense']
    category.account_revenue = accounts['revenue']
    category.save()
    unit, = ProductUom.find([('name', '=', "Unit")])
    w['unit'] = unit

    def product(name, price, relief=False, gtin=None):
        template = Template(name=name, default_uom=unit, type='goods')
        template.salable = template.purchasable = True
        template.list_price = price
        template.account_category = category
        template.relief = relief
        product, = template.products
        product.cost_price = price * Decimal('0.6')
        if gtin:
            identifier = product.identifiers.new()
            identifier.type = 'ean'
            identifier.code = gtin
        template.save()
        product, = template.products
        return product
    w['kiwi'] = product(
        "周至猕猴桃礼盒", Decimal(65), relief=True, gtin='6901234567892')
    w['walnut'] = product("洛南核桃", Decimal(50), relief=True)
    w['gift_box'] = product("礼品盒", Decimal(5))

    for key, name, code, prod in [
            ('kiwi_coop', "周至县猕猴桃专业合作社", '610124', w['kiwi']),
            ('walnut_company', "洛南县秦核桃业有限公司", '611021',
                w['walnut']),
            ]:
        supplier = Party(name=name)
        supplier.save()
        w[key] = supplier
        county, = Subdivision.find([('gbt2260_code', '=', code)])
        w['county_' + code] = county
        SupplierCertification(
            supplier=supplier, county=county, office="县扶贫开发办公室",
            number=code + "-001", poor_people=120,
            contact="联系人 张三", phone="13800000000",
            valid_from=today - dt.timedelta(days=60),
            valid_to=today + dt.timedelta(days=700)).click('certify')
        ProductCertification(
            template=prod.template, supplier=supplier,
            catalogue_number=code + "0001",
            valid_from=today - dt.timedelta(days=60),
            valid_to=today + dt.timedelta(days=700)).click('certify')
        entry = CatalogueEntry(template=prod.template)
        entry.click('list_')
        w['entry_' + key] = entry

    w['union'] = Party(name="西安某某公司工会委员会")
    w['union'].save()
    w['member'] = Party(name="会员 李四")
    w['member'].save()
    return w


def purchase(w, supplier, product, quantity):
    "Return a confirmed purchase of product"
    Purchase = Model.get('purchase.purchase')
    purchase = Purchase(party=supplier, payment_term=w['payment_term'])
    line = purchase.lines.new()
    line.product = product
    line.quantity = quantity
    line.unit_price = product.cost_price
    purchase.click('quote')
    purchase.click('confirm')
    return purchase


def sale(w, party, product, quantity):
    "Return a confirmed sale of product"
    Sale = Model.get('sale.sale')
    sale = Sale(party=party, payment_term=w['payment_term'])
    line = sale.lines.new()
    line.product = product
    line.quantity = quantity
    sale.click('quote')
    sale.click('confirm')
    return sale


def receive(purchases, lots):
    "Receive the moves of purchases into lots (one a purchase)"
    ShipmentIn = Model.get('stock.shipment.in')
    Move = Model.get('stock.move')
    shipment = ShipmentIn(supplier=purchases[0].party)
    for purchase, lot in zip(purchases, lots):
        for move in purchase.moves:
            incoming = Move(move.id)
            incoming.lot = lot
            shipment.incoming_moves.append(incoming)
    shipment.save()
    shipment.click('receive')
    shipment.click('do')
    return shipment


def ship(sale, lots):
    "Ship the sale's goods from lots (one a line)"
    shipment, = sale.shipments
    shipment.click('assign_try')
    for move, lot in zip(shipment.inventory_moves, lots):
        move.lot = lot
    shipment.save()
    shipment.click('pick')
    shipment.click('pack')
    shipment.click('do')
    return shipment


def gift_pack(w, name="中秋大礼包", components=('kiwi', 'walnut')):
    "Return the gift pack product packed from components and its BOM"
    Template = Model.get('product.template')
    BOM = Model.get('production.bom')
    ProductBom = Model.get('product.product-production.bom')
    template = Template(name=name, type='goods',
        default_uom=w['unit'], producible=True, salable=True,
        list_price=Decimal(128),
        account_category=w['kiwi'].template.account_category)
    template.save()
    pack, = template.products
    bom = BOM(name=name)
    for component in components:
        input_ = bom.inputs.new()
        input_.product = w[component]
        input_.quantity = 1
    output = bom.outputs.new()
    output.product = pack
    output.quantity = 1
    bom.save()
    pack.boms.append(ProductBom(bom=bom))
    pack.save()
    return pack, bom


def origin_lot(w, number, product, supplier, days=10, **values):
    "Return a new lot of product with its origin"
    Lot = Model.get('stock.lot')
    lot = Lot(number=number, product=product, relief_supplier=supplier,
        production_date=w['today'] - dt.timedelta(days=days), **values)
    lot.save()
    return lot


def pack_lots(pack, bom, quantity, lots, pack_lot):
    "Pack quantity gift packs from lots (by product) into pack_lot"
    Production = Model.get('production')
    production = Production(product=pack, bom=bom, quantity=quantity)
    production.click('wait')
    production.click('assign_try')
    for input_ in production.inputs:
        input_.lot = lots.get(input_.product)
    output, = production.outputs
    output.lot = pack_lot
    production.click('run')
    production.click('do')
    return production


@functools.cache
def _epcis_validator():
    "GS1's EPCIS 2.0 JSON schema (README.md names its source and version)"
    import jsonschema
    path = os.path.join(os.path.dirname(__file__), 'EPCIS-JSON-Schema.json')
    with open(path, encoding='utf-8') as file:
        schema = json.load(file)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def epcis_errors(document):
    "Return the messages of the errors of document against GS1's schema"
    return [f'{"/".join(map(str, e.absolute_path))}: {e.message}'
        for e in _epcis_validator().iter_errors(document)]


def epcis_uris(document):
    "Return the EPC class URIs of the events of document"
    uris = set()
    for event in document['epcisBody']['eventList']:
        for key in ['quantityList', 'inputQuantityList',
                'outputQuantityList']:
            uris.update(q['epcClass'] for q in event.get(key, []))
    return sorted(uris)


def digital_link(uri):
    """Return the (GTIN-14, lot) of the GS1 Digital Link uri as biip parses
    it; biip raises ParseError on what is no Digital Link"""
    from biip.gs1_digital_link_uris import GS1DigitalLinkURI
    link = GS1DigitalLinkURI.parse(uri)
    elements = {e.ai.ai: e.value for e in link.element_strings}
    return elements.get('01'), elements.get('10')
