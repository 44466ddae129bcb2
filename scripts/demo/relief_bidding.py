# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Demo data of relief_bidding: the round of 2026 中秋大礼包, closed, opened
by its committee and awarded.

The back office (given the bidding group) certifies the round's two
products (listed relief products) for two more certified suppliers each,
invites every supplier certified today with a certified, listed product
among them and
enters their sealed bids; the round closes a few seconds later (in life:
days), its two committee members (logins bid_officer and bid_inspector,
their passwords in the credentials) open it, and the back office awards
it: a running blanket agreement for each product's best bid.  The
invitation is the round's request for quotation (purchase_request_quotation):
a purchase request per product and a quotation sent to each supplier, which
the opening fills with the bids (received, or rejected for a supplier who
did not bid) and the award chooses from; the back office buys from a
request with Create Purchase, against the agreement.

Quality at receipt: the boxes of the round's first product are sampled
when a supplier's delivery is received (pesticide residue at most 0.5
mg/kg); the delivery of lot ZJ-FAIL-01 (50 boxes of the purchase made from
the round's request) failed (0.9): the lot is blocked,
its alert is open and proposes the product's delisting (left to the back
office: Delist and Recall).  Prices, capacities and figures are
invented."""
import datetime as dt
import random
import secrets
import time
from collections import defaultdict
from decimal import Decimal

from proteus import Model, Wizard

from relief_certification import _ref, as_user

CAMPAIGN = "2026 中秋大礼包"
COMMITTEE = [('bid_officer', "竞价主持人"), ('bid_inspector', "纪检监督员")]
# Seconds from the invitations to the closing, and to the opening
CLOSING, OPENING = 3, 4


def load(config, passwords):
    rng = random.Random(2026)  # the same data at every build
    Date = Model.get('ir.date', config=config)
    today = Date._proxy.today(config.context)
    committee = create_committee(config, passwords)
    grant_back_office(config)
    create_control(config)
    with as_user(config, 'backoffice'):
        round_ = create_round(config, rng, committee, today)
        time.sleep(max(0, (round_.closing - dt.datetime.now())
                .total_seconds()) + 0.5)
        round_.click('close')
    time.sleep(max(0, (round_.opening - dt.datetime.now())
            .total_seconds()) + 0.5)
    for login, _ in COMMITTEE:
        with as_user(config, login):
            Round = Model.get('relief.bidding.round', config=config)
            Round(round_.id).click('open_')
    with as_user(config, 'backoffice'):
        Round = Model.get('relief.bidding.round', config=config)
        round_ = Round(round_.id)
        round_.click('award')
        failed_receipt(config, round_, today)


def create_committee(config, passwords):
    "The two members of the committee: bidding group, Chinese interface"
    User = Model.get('res.user', config=config)
    Group = Model.get('res.group', config=config)
    Lang = Model.get('ir.lang', config=config)
    Company = Model.get('company.company', config=config)
    company, = Company.find([], limit=1)
    zh_cn, = Lang.find([('code', '=', 'zh_CN')])
    users = []
    for login, name in COMMITTEE:
        password = secrets.token_urlsafe(9)
        user = User(login=login, name=name, password=password)
        user.language = zh_cn
        user.companies.append(Company(company.id))
        user.company = Company(company.id)
        for xml_id in ['relief.group_relief', 'relief_bidding.group_bidding']:
            user.groups.append(Group(_ref(config, xml_id)))
        user.save()
        passwords[login] = password
        users.append(user)
    return users


def grant_back_office(config):
    """The back office runs the rounds and buys from their requests against
    the agreements"""
    User = Model.get('res.user', config=config)
    Group = Model.get('res.group', config=config)
    user, = User.find([('login', '=', 'backoffice')])
    for xml_id in ['relief_bidding.group_bidding',
            'purchase_blanket_agreement.group_purchase_blanket_agreement',
            'purchase_request.group_purchase_request',
            'quality.group_quality']:
        group = Group(_ref(config, xml_id))
        if group not in user.groups:
            user.groups.append(group)
    user.save()


def _bidders(config, today):
    "{template id: [supplier ids]} that may bid today"
    ProductCertification = Model.get(
        'relief.product.certification', config=config)
    SupplierCertification = Model.get(
        'relief.supplier.certification', config=config)
    certified = {c.supplier.id for c in SupplierCertification.find([
                ('state', '=', 'certified'),
                ('valid_from', '<=', today), ('valid_to', '>=', today),
                ])}
    bidders = defaultdict(set)
    for c in ProductCertification.find([
                ('state', '=', 'certified'),
                ('valid_from', '<=', today), ('valid_to', '>=', today),
                ('template.relief_listed', '=', True),
                ('template.purchasable', '=', True),
                ]):
        if c.supplier.id in certified:
            bidders[c.template.id].add(c.supplier.id)
    return bidders


def add_bidders(config, rng, bidders, templates, today):
    """The round's products are certified for two more certified suppliers
    each (in the demo each product has a single supplier): a competition"""
    SupplierCertification = Model.get(
        'relief.supplier.certification', config=config)
    ProductCertification = Model.get(
        'relief.product.certification', config=config)
    certifications = SupplierCertification.find([
            ('state', '=', 'certified'),
            ('valid_from', '<=', today), ('valid_to', '>=', today),
            ], order=[('id', 'ASC')])
    added = []
    for i, template in enumerate(templates):
        others = [c for c in certifications
            if c.supplier.id not in bidders[template]]
        for certification in rng.sample(others, 2):
            added.append(ProductCertification(
                    template=template,
                    supplier=certification.supplier,
                    supplier_certification=certification,
                    catalogue_number='CNFP-BID-%d%02d' % (i, len(added)),
                    valid_from=certification.valid_from,
                    valid_to=certification.valid_to))
            bidders[template].add(certification.supplier.id)
    ProductCertification.save(added)
    ProductCertification.click(added, 'certify')


def create_round(config, rng, committee, today):
    Round = Model.get('relief.bidding.round', config=config)
    Bid = Model.get('relief.bidding.bid', config=config)
    Template = Model.get('product.template', config=config)
    Party = Model.get('party.party', config=config)
    Location = Model.get('stock.location', config=config)
    bidders = _bidders(config, today)
    templates = sorted(bidders, key=lambda t: (-len(bidders[t]), t))[:2]
    add_bidders(config, rng, bidders, templates, today)
    now = dt.datetime.now().replace(microsecond=0)
    round_ = Round(name=CAMPAIGN)
    # Delivered to the distributor's warehouse from the award (the
    # agreement's validity: a purchase against it is dated within it)
    round_.warehouse, = Location.find([('type', '=', 'warehouse')],
        order=[('id', 'ASC')], limit=1)
    round_.delivery_from = today
    round_.delivery_to = today + dt.timedelta(days=60)
    round_.closing = now + dt.timedelta(seconds=CLOSING)
    round_.opening = now + dt.timedelta(seconds=OPENING)
    round_.committee_first, round_.committee_second = committee
    for template in templates:
        product, = Template(template).products
        line = round_.lines.new(product=product)
        line.quantity = rng.choice([2000, 3000, 5000])
        line.specification = "中秋礼盒装"
    for supplier in sorted(set().union(*(bidders[t] for t in templates))):
        round_.invitations.new(supplier=Party(supplier))
    round_.save()
    round_.click('invite')
    bids = []
    for line in round_.lines:
        template = line.product.template
        base = template.list_price or Decimal(50)
        for supplier in sorted(bidders[template.id]):
            bid = Bid(round=round_, supplier=Party(supplier), line=line)
            bid.price = (base * Decimal(rng.uniform(0.55, 0.8))).quantize(
                Decimal('0.01'))
            bid.quantity = line.quantity
            bid.capacity = float(line.quantity) * rng.uniform(0.5, 2)
            bid.delivery_date = round_.delivery_from + dt.timedelta(
                days=rng.randint(0, 20))
            bids.append(bid)
    Bid.save(bids)
    return round_


def create_control(config):
    "Sampling of every relief product at a supplier delivery's receipt"
    Control = Model.get('quality.control', config=config)
    control = Control(name="帮扶产品到货抽检")
    control.operations = ['stock.shipment.in:receive']
    point = control.points.new()
    point.string = "农药残留 (mg/kg)"
    point.name = 'residue'
    point.type_ = 'float'
    point.tolerance_upper = 0.5
    control.save()


def purchase_from_request(config, bid):
    """The back office buys the first delivery (50 boxes) of the product of
    an awarded bid from the round's request: Tryton's Create Purchase, the
    purchase line on the award's agreement line"""
    PaymentTerm = Model.get('account.invoice.payment_term', config=config)
    create_purchase = Wizard('purchase.request.create_purchase',
        [bid.line.request], config=config)
    purchase, = create_purchase.actions[0]
    assert purchase.party == bid.supplier
    purchase.payment_term, = PaymentTerm.find([], limit=1)
    line, = purchase.lines
    assert line.blanket_agreement_line == bid.agreement_line
    line.quantity = 50
    purchase.click('quote')
    purchase.click('confirm')
    return purchase


def failed_receipt(config, round_, today):
    """A delivery of the round's first product, by its winner, bought from
    the round's request, fails its inspection at receipt"""
    Lot = Model.get('stock.lot', config=config)
    Move = Model.get('stock.move', config=config)
    ShipmentIn = Model.get('stock.shipment.in', config=config)
    bid = [b for b in round_.bids if b.awarded][0]
    product = bid.line.product
    lot = Lot(number='ZJ-FAIL-01', product=product)
    lot.relief_supplier = bid.supplier
    lot.production_date = today - dt.timedelta(days=5)
    lot.save()
    purchase = purchase_from_request(config, bid)
    shipment = ShipmentIn(supplier=bid.supplier)
    for move in purchase.moves:
        incoming = Move(move.id)
        incoming.lot = lot
        shipment.incoming_moves.append(incoming)
    shipment.save()
    inspect = shipment.click('receive')
    inspect.form.points = {'residue': 0.9}
    inspect.execute('save')
