# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Demo data of relief_counter: 20 staffed counters (扶贫专柜) and 5 smart
cabinets (智能柜) across Shaanxi, with a week of sales.

The counters are in the 职工之家, 职工书屋 and buildings of the demo's
city and county unions (relief_union's parties host them) and in the
劳动者港湾 of bank branches (invented branch parties); the cabinets in the
buildings of the demo's state groups.  Each point has its own storage
location in the sites' warehouse (专柜与智能柜), supplied from the
distributor's warehouse, stocked at the opening by an
inventory in new lots of the listed relief products (with shelf life
expiration dates: one lot at two counters expires within the withdrawal
delay), its own strict sequence, the revenue journal, prices with tax,
the member price list "会员价" (90 %) and its county or district; some
hosts charge a fee on their site's sales.

For the last 7 days each counter sells a few times a day, to members (by
member number: member price and the running programmes' subsidies, as Pay
computes them) and to walk-in buyers, paid in cash (with change), by card
or by QR code; the sales are processed and, but today's, posted.  Each
counter's cash session covers one day: the clerk deposits the day's cash
at the bank (a cash transfer) and closes the session on the counted cash;
yesterday's sessions are closed, older ones posted, today's open.

The cabinets' operator system sends their sales to the feed (signed HTTP
calls, in this process, through a WSGI client of trytond's application,
as relief_mall's demo calls its API), sends a batch twice (taken
once), and counts the headquarters cabinet: the count becomes an
inventory with its differences.  The counter of 汉阴县 lost the network
this morning: its till sends the morning's sales later, with the ids it
made.  The device ids and secrets of those two are kept in
var/<db>-keys.txt (scripts/run prints them); the other cabinets' secrets
are not shown (Create Device Secret gives new ones).

Names of banks' branches, clerks and figures are invented.  Records are
created set-based, a batch a call (relief_certification.py's helpers)."""
import datetime as dt
import hashlib
import hmac
import json
import random
import secrets
import time
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from proteus import Model, Wizard

from relief_certification import _create, _ref
from relief_union import SURNAMES, GIVEN, _listed, _search_read

DAYS = 7
PRICE_LIST = "会员价"
MEMBER_SHARE = Decimal('0.9')
DIGITS = Decimal('0.0001')  # of the unit prices (price_digits)
# The login of the first counter's clerk (README: roles)
CLERK_LOGIN = 'clerk'
# Counters: (code, name, host, site type, GB/T 2260 code, host fee rate)
COUNTERS = [
    ('ZG01', "陕西省总工会职工服务中心扶贫专柜", "陕西省总工会",
        'union_building', '610103', None),
    ('ZG02', "西安市总工会职工之家扶贫专柜", "西安市总工会",
        'workers_home', '610102', None),
    ('ZG03', "雁塔区总工会职工书屋扶贫专柜", "西安市雁塔区总工会",
        'reading_room', '610113', None),
    ('ZG04', "长安银行西安高新支行劳动者港湾扶贫专柜", "长安银行西安高新支行",
        'bank_branch', '610113', '0.02'),
    ('ZG05', "西安银行经开区支行劳动者港湾扶贫专柜", "西安银行经开区支行",
        'bank_branch', '610112', '0.02'),
    ('ZG06', "临潼区总工会职工之家扶贫专柜", "西安市临潼区总工会",
        'workers_home', '610115', None),
    ('ZG07', "周至县总工会职工书屋扶贫专柜", "周至县总工会",
        'reading_room', '610124', None),
    ('ZG08', "宝鸡市总工会职工之家扶贫专柜", "宝鸡市总工会",
        'workers_home', '610302', None),
    ('ZG09', "长安银行宝鸡金台支行劳动者港湾扶贫专柜", "长安银行宝鸡金台支行",
        'bank_branch', '610303', '0.015'),
    ('ZG10', "咸阳市总工会职工之家扶贫专柜", "咸阳市总工会",
        'workers_home', '610402', None),
    ('ZG11', "淳化县总工会职工书屋扶贫专柜", "淳化县总工会",
        'reading_room', '610430', None),
    ('ZG12', "渭南市总工会工人文化宫扶贫专柜", "渭南市总工会",
        'union_building', '610502', '0.01'),
    ('ZG13', "铜川市总工会职工之家扶贫专柜", "铜川市总工会",
        'workers_home', '610202', None),
    ('ZG14', "延安市总工会职工之家扶贫专柜", "延安市总工会",
        'workers_home', '610602', None),
    ('ZG15', "长安银行延安宝塔支行劳动者港湾扶贫专柜", "长安银行延安宝塔支行",
        'bank_branch', '610602', '0.015'),
    ('ZG16', "汉中市总工会职工书屋扶贫专柜", "汉中市总工会",
        'reading_room', '610702', None),
    ('ZG17', "榆林市总工会工人文化宫扶贫专柜", "榆林市总工会",
        'union_building', '610802', '0.01'),
    ('ZG18', "安康市总工会职工之家扶贫专柜", "安康市总工会",
        'workers_home', '610902', None),
    ('ZG19', "汉阴县总工会职工书屋扶贫专柜", "汉阴县总工会",
        'reading_room', '610921', None),
    ('ZG20', "商洛市总工会职工之家扶贫专柜", "商洛市总工会",
        'workers_home', '611002', None),
    ]
# Smart cabinets, in the buildings of relief_union's state groups
CABINETS = [
    ('ZNG01', "陕西渭岭能源集团总部大楼智能柜", "陕西渭岭能源集团有限公司工会",
        'office', '610113', None),
    ('ZNG02', "渭岭能源集团榆林煤业办公楼智能柜",
        "陕西渭岭能源集团榆林煤业有限公司工会", 'office', '610802', None),
    ('ZNG03', "渭岭能源集团神木化工职工食堂智能柜",
        "陕西渭岭能源集团神木化工有限公司工会", 'office', '610881', None),
    ('ZNG04', "陕西秦峪交通建设集团总部大楼智能柜",
        "陕西秦峪交通建设集团有限公司工会", 'office', '610112', None),
    ('ZNG05', "长安银行西安高新支行劳动者港湾智能柜", "长安银行西安高新支行",
        'bank_branch', '610113', '0.02'),
    ]
OFFLINE = 'ZG19'  # the counter whose till lost the network this morning
COUNTED = 'ZNG01'  # the cabinet its operator counts
EXPIRING = ['ZG02', 'ZG08']  # counters with a lot to withdraw
# (name, code the devices send, cash, share of the counters' sales)
METHODS = [
    ("现金", 'CASH', True, 40),
    ("银联刷卡", 'UNIONPAY', False, 20),
    ("微信支付", 'WECHAT', False, 25),
    ("云闪付", 'QUICKPASS', False, 15),
    ]
# Sales a day: at a counter, at a cabinet
SALES_PER_DAY = (2, 4)
CABINET_SALES_PER_DAY = (2, 5)
PRODUCTS = 24  # the listed products the counters and cabinets sell
PRODUCTS_PER_POINT = 8
# Records per create or button call: SQLite's parser overflows beyond
# about 90 OR clauses of an Exclude constraint (relief_certification.py)
BATCH = 40


def load(config, passwords):
    rng = random.Random(1818)  # the same data at every build
    Date = Model.get('ir.date', config=config)
    today = Date._proxy.today(config.context)
    set_shelf_life_delay(config)
    products = _products(config, rng)
    price_list, formula = member_price_list(config)
    methods = create_payment_methods(config)
    points = create_points(config, rng, price_list)
    create_clerk_login(config, points[0], passwords)
    stock_points(config, rng, points, products, today)
    prices = price_table(config, points[0], products, formula)
    members = _search_read(config, 'party.party', [
            ('member_union', '!=', None),
            ('member_number', '!=', None),
            ], ['member_number'])
    members = sorted(m['member_number'] for m in members)
    counters = [p for p in points if p['kind'] == 'counter']
    sell_week(config, rng, counters, members, methods, prices, today)
    feeds(config, rng, points, members, prices, today, passwords)


def _batches(records, size=BATCH):
    for i in range(0, len(records), size):
        yield records[i:i + size]


def _call(config, model, method, ids, *args, size=BATCH):
    "Call method (a button) on ids, a batch a call"
    proxy = Model.get(model, config=config)._proxy
    for batch in _batches(list(ids), size):
        getattr(proxy, method)(batch, *args, config.context)


def set_shelf_life_delay(config):
    """Lots expiring within 3 days are flagged for withdrawal at the
    counters (and left out of the forecast the order points replenish)"""
    Config = Model.get('stock.configuration', config=config)
    stock_config = Config(1)
    if not stock_config.shelf_life_delay:
        stock_config.shelf_life_delay = dt.timedelta(days=3)
        stock_config.save()


def _products(config, rng):
    """The listed relief products that are goods with a code (the devices
    name products by code), by id"""
    listed = {p['product']: p for p in _listed(config)}
    rows = _search_read(config, 'product.product', [
            ('id', 'in', list(listed)),
            ('type', '=', 'goods'),
            ('salable', '=', True),
            ('code', '!=', None),
            ], ['code'])
    rows = rng.sample(sorted(rows, key=lambda r: r['id']),
        min(PRODUCTS, len(rows)))
    return {r['id']: r for r in sorted(rows, key=lambda r: r['id'])}


def member_price_list(config):
    """The demo's member price list, or 会员价: 90 % of the list price;
    and the member's share of the list price when it is that one"""
    PriceList = Model.get('product.price_list', config=config)
    lists = PriceList.find([('name', '=', PRICE_LIST)], limit=1)
    if lists:
        return lists[0], None
    price_list = PriceList(name=PRICE_LIST, price='list_price')
    price_list.lines.new(formula=f'unit_price * {MEMBER_SHARE}')
    price_list.save()
    return price_list, MEMBER_SHARE


def create_payment_methods(config):
    """Cash in the cash account; cards and QR codes in a clearing account
    until the acquirer settles; by code"""
    from trytond.modules.account.tests.tools import get_accounts
    Account = Model.get('account.account', config=config)
    Company = Model.get('company.company', config=config)
    accounts = get_accounts(Company.find()[0], config=config)
    clearing = Account(name="刷卡及扫码收款待清算款", code='1012.01')
    clearing.parent = accounts['cash'].parent
    clearing.type = accounts['cash'].type
    clearing.reconcile = True
    clearing.save()
    vlist = [{
            'name': name, 'code': code, 'cash': cash,
            'account': (accounts['cash'] if cash else clearing).id,
            } for name, code, cash, _ in METHODS]
    return {m.code: m.id for m in _create(
            config, 'sale.point.payment.method', vlist)}


def _hosts(config, specs):
    """The host parties by name: the demo's unions, else new parties (the
    bank branches) in their district"""
    names = sorted({s[2] for s in specs})
    hosts = {}
    for party in _search_read(config, 'party.party', [
                ('name', 'in', names)], ['name']):
        hosts.setdefault(party['name'], party['id'])
    areas = {a['gbt2260_code']: a for a in _search_read(
            config, 'country.subdivision', [
                ('gbt2260_code', 'in', list({s[4] for s in specs})),
                ], ['gbt2260_code', 'country', 'parent.name'])}
    missing = {s[2]: areas[s[4]] for s in specs if s[2] not in hosts}
    vlist = [{
            'name': name,
            'addresses': [('create', [{
                            'country': area['country'],
                            'subdivision': area['id'],
                            'city': area['parent.']['name'],
                            }])],
            } for name, area in sorted(missing.items())]
    for values, party in zip(vlist, _create(config, 'party.party', vlist)):
        hosts[values['name']] = party.id
    return hosts, areas


def sites_warehouse(config, distributor):
    """The warehouse of the points' shelves, apart from the distributor's:
    a warehouse promises and picks what its storage holds, and the goods
    on a bank branch's shelf are neither for the mall nor for the unions'
    shipments"""
    Location = Model.get('stock.location', config=config)
    storage = Location(name="专柜与智能柜货架", type='storage')
    storage.save()
    sites = Location(name="专柜与智能柜", code='ZG', type='warehouse',
        input_location=storage, output_location=storage,
        storage_location=storage, relief_sites=True,
        lost_found_location=distributor.lost_found_location)
    if 'production_location' in Location._fields:
        sites.production_location = distributor.production_location
    sites.save()
    return sites


def create_points(config, rng, price_list):
    """The counters and cabinets, each with its storage location, strict
    sequence and clerk; return them as dicts, counters first"""
    Journal = Model.get('account.journal', config=config)
    Location = Model.get('stock.location', config=config)
    Company = Model.get('company.company', config=config)
    company = Company.find()[0]
    specs = ([(*s, 'counter') for s in COUNTERS]
        + [(*s, 'cabinet') for s in CABINETS])
    hosts, areas = _hosts(config, specs)
    warehouse, = Location.find([('type', '=', 'warehouse')], limit=1)
    customer, = Location.find([('type', '=', 'customer')], limit=1)
    journal, = Journal.find([('type', '=', 'revenue')], limit=1)
    sites = sites_warehouse(config, warehouse)
    locations = _create(config, 'stock.location', [{
                'name': name, 'code': code, 'type': 'storage',
                'parent': sites.storage_location.id,
                'provisioning_location': warehouse.storage_location.id,
                } for code, name, *_ in specs])
    sequences = _create(config, 'ir.sequence.strict', [{
                'name': name, 'prefix': code + '-', 'padding': 6,
                'sequence_type': _ref(config, 'sale_point.sequence_type_sale'),
                'company': company.id,
                } for code, name, *_ in specs])
    vlist = []
    for (code, name, host, site, area, fee, kind), location, sequence in zip(
            specs, locations, sequences):
        vlist.append({
                'name': name, 'relief_kind': kind,
                'host': hosts[host], 'site_type': site,
                'subdivision': areas[area]['id'],
                'host_fee_rate': Decimal(fee) if fee else None,
                'member_price_list': price_list.id,
                'journal': journal.id,
                'sequence': sequence.id,
                'tax_included': True,
                'storage_location': location.id,
                'return_location': location.id,
                'customer_location': customer.id,
                })
    points = _create(config, 'sale.point', vlist)
    clerks = create_clerks(config, rng, company, len(COUNTERS))
    # Each counter's clerk sees that counter only (record rules)
    args = []
    for point, clerk in zip(points, clerks):
        args += [[point.id], {'clerks': [('add', [clerk])]}]
    Model.get('sale.point', config=config)._proxy.write(*args, config.context)
    return [{'id': p.id, 'code': s[0], 'name': s[1], 'kind': s[-1],
            'location': l.id, 'clerk': clerks[i] if i < len(clerks) else None}
        for i, (p, s, l) in enumerate(zip(points, specs, locations))]


def create_clerk_login(config, point, passwords):
    """The login of the first counter's clerk: sale_point's group, the
    counter's clerk employee (who sees that counter only)"""
    Group = Model.get('res.group', config=config)
    Lang = Model.get('ir.lang', config=config)
    ModelData = Model.get('ir.model.data', config=config)
    User = Model.get('res.user', config=config)
    Company = Model.get('company.company', config=config)
    Employee = Model.get('company.employee', config=config)
    company, = Company.find([], limit=1)
    zh_cn, = Lang.find([('code', '=', 'zh_CN')])
    clerk = Employee(point['clerk'])
    password = secrets.token_urlsafe(9)
    user = User(login=CLERK_LOGIN, name=clerk.party.name + "（营业员）",
        password=password)
    user.language = zh_cn
    user.companies.append(company)
    user.company = company
    user.employees.append(clerk)
    user.employee = clerk
    # Sells and closes the day; posting is the back office's
    user.groups.append(Group(ModelData.get_id(
                'sale_point', 'group_sale_point', config.context)))
    user.save()
    passwords[CLERK_LOGIN] = password


def create_clerks(config, rng, company, count):
    "A clerk (营业员) per counter: employees of invented names"
    names, seen = [], set()
    while len(names) < count:
        name = rng.choice(SURNAMES) + ''.join(
            rng.sample(GIVEN, rng.choice([1, 2])))
        if name not in seen:
            seen.add(name)
            names.append(name)
    parties = _create(config, 'party.party', [{'name': n} for n in names])
    employees = _create(config, 'company.employee', [{
                'party': p.id, 'company': company.id} for p in parties])
    return [e.id for e in employees]


def stock_points(config, rng, points, products, today):
    """Count the goods in at each point's opening, a week ago, in new lots
    of the products' certified suppliers; at two counters an older lot of
    a product is still on the shelf, expiring within the withdrawal
    delay.  Record what each point holds: point['stock']
    {product: [lot, quantity]}"""
    opening = today - dt.timedelta(days=DAYS + 1)
    ids = list(products)
    lots = _lots(config, rng, ids, opening, today)
    for point in points:
        chosen = sorted(rng.sample(ids, min(PRODUCTS_PER_POINT, len(ids))))
        point['stock'] = {p: [lots[p], rng.randint(30, 60)] for p in chosen}
    expiring = [p for p in points if p['code'] in EXPIRING]
    older = _lots(config, rng, sorted({min(p['stock']) for p in expiring}),
        opening, today, older=True)
    for point in expiring:
        product = min(point['stock'])
        point['expiring'] = (product, older[product], rng.randint(3, 6))
    vlist = []
    for point in points:
        lines = [{'product': p, 'lot': lot, 'quantity': quantity}
            for p, (lot, quantity) in point['stock'].items()]
        if point.get('expiring'):
            product, lot, quantity = point['expiring']
            lines.append({'product': product, 'lot': lot,
                    'quantity': quantity})
        vlist.append({
                'location': point['location'], 'date': opening,
                'lines': [('create', lines)],
                })
    inventories = _create(config, 'stock.inventory', vlist)
    _call(config, 'stock.inventory', 'confirm', [i.id for i in inventories])


def _lots(config, rng, product_ids, opening, today, older=False):
    """Lots of the products from their certified supplier: {product id:
    lot id}; an older lot expires within 3 days"""
    certifications = _search_read(config, 'relief.product.certification', [
            ('template.products', 'in', product_ids),
            ('template.relief', '=', True),
            ('state', '=', 'certified'),
            ], ['template.products', 'supplier',
            'supplier_certification.county',
            'supplier_certification.county.name',
            'supplier_certification.poor_people'])
    origin = {}
    for certification in certifications:
        product = certification['template.']['products'][0]
        origin.setdefault(product, certification)
    vlist, suffix = [], 'B' if older else 'A'
    for n, product in enumerate(product_ids, 1):
        produced = opening - dt.timedelta(
            days=rng.randint(20, 40) if older else rng.randint(2, 6))
        values = {
            'number': f"{produced:%y%m%d}-ZG{n:02d}{suffix}",
            'product': product,
            'production_date': produced,
            'shelf_life_expiration_date': (
                today + dt.timedelta(days=2) if older
                else today + dt.timedelta(days=rng.randint(60, 240))),
            }
        certification = origin.get(product)
        if certification:
            supplier = certification['supplier_certification.']
            values.update({
                    'relief_supplier': certification['supplier'],
                    'relief_county': supplier['county'],
                    'relief_base': (
                        supplier['county.']['name'] + "专业合作社基地"),
                    'poor_households': max(
                        5, (supplier['poor_people'] or 30) // 3),
                    'inspection_date': produced + dt.timedelta(days=1),
                    'inspection_result': 'passed',
                    'inspection_report': (
                        f"JC{produced:%Y%m%d}ZG{n:02d}{suffix}"),
                    })
        vlist.append(values)
    created = _create(config, 'stock.lot', vlist)
    return {p: l.id for p, l in zip(product_ids, created)}


def price_table(config, point, products, formula):
    """The unit list and gross prices of the products at the counters, to
    walk-in buyers and to members: {(product, member): (list price, gross
    price)}.  Computed here when the products have no tax and the member
    price list is the demo's (formula: the member's share of the list
    price), else as a clerk's line computes them (an on_change a line)"""
    rows = _search_read(config, 'product.product', [
            ('id', 'in', list(products)),
            ], ['list_price_used', 'template.account_category'])
    categories = _search_read(config, 'product.category', [
            ('id', 'in', list({r['template.']['account_category']
                        for r in rows})),
            ], ['customer_taxes_used'])
    if formula and not any(c['customer_taxes_used'] for c in categories):
        table = {}
        for row in rows:
            price = row['list_price_used'].quantize(DIGITS)
            member = (price * formula).quantize(DIGITS)
            table[row['id'], False] = (price, price)
            table[row['id'], True] = (member, member)
        return table
    Point = Model.get('sale.point', config=config)
    Product = Model.get('product.product', config=config)
    Sale = Model.get('sale.point.sale', config=config)
    member = _search_read(config, 'party.party', [
            ('member_union', '!=', None), ('member_number', '!=', None),
            ], ['member_number'])[0]['member_number']
    table = {}
    for is_member in [False, True]:
        sale = Sale(point=Point(point['id']))
        if is_member:
            sale.member_code = member
        for product in products:
            line = sale.lines.new()
            line.product = Product(product)
            table[product, is_member] = (
                line.unit_list_price, line.unit_gross_price)
    return table


def _day_sales(rng, point, date, count, members, prices, methods):
    """The values of count sales of the counter on date, and their
    payment methods"""
    vlist, chosen = [], []
    stocked = [p for p, (_, q) in point['stock'].items() if q > 4]
    for _ in range(count):
        member = rng.choice(members) if rng.random() < 0.45 else None
        lines = []
        for product in rng.sample(stocked, min(len(stocked),
                    rng.choice([1, 1, 1, 2, 2, 3]))):
            quantity = rng.choice([1, 1, 1, 2, 2, 3])
            point['stock'][product][1] -= quantity
            unit_list, unit_gross = prices[product, bool(member)]
            lines.append({
                    'product': product, 'quantity': quantity,
                    'unit_list_price': unit_list,
                    'unit_gross_price': unit_gross,
                    'lot': point['stock'][product][0],
                    })
        values = {'point': point['id'], 'date': date,
            'employee': point['clerk'], 'lines': [('create', lines)]}
        if member:
            values['member_code'] = member
        vlist.append(values)
        chosen.append(rng.choices(
                [m[1] for m in METHODS], [m[3] for m in METHODS])[0])
    return vlist, chosen


def _payments(rng, sale, code, methods):
    """What the buyer pays: cash tendered in notes (the change given
    back), or the exact amount by card or QR code"""
    amount = sale['amount_to_pay']
    if code != 'CASH':
        return [{'sale': sale['id'], 'method': methods[code],
                'amount': amount}]
    note = Decimal(rng.choice([10, 50, 100]))
    tendered = (amount / note).to_integral_value(ROUND_CEILING) * note
    payments = [{'sale': sale['id'], 'method': methods[code],
            'amount': tendered}]
    if tendered != amount:
        payments.append({'sale': sale['id'], 'method': methods[code],
                'amount': amount - tendered})
    return payments


def sell_week(config, rng, counters, members, methods, prices, today):
    """The counters' sales of the last days, a day at a time: the day's
    cash session, the sales (the members' subsidies computed by Pay),
    their payments, processed and posted; the day closed on the counted
    cash after the cash is deposited at the bank"""
    transfer_type = create_transfer_type(config)
    sessions = {}
    for day in range(DAYS - 1, -1, -1):
        date = today - dt.timedelta(days=day)
        sessions = open_sessions(config, counters, date, sessions)
        vlist, codes = [], []
        for point in counters:
            if day == 0 and point['code'] == OFFLINE:
                continue  # the till sends today's sales (feeds)
            values, chosen = _day_sales(rng, point, date,
                rng.randint(*SALES_PER_DAY), members, prices, methods)
            vlist += values
            codes += chosen
        sales = [s.id for s in _create(config, 'sale.point.sale', vlist)]
        member_sales = [i for i, v in zip(sales, vlist)
            if v.get('member_code')]
        # Pay computes the programmes' subsidies of the members' sales
        _call(config, 'sale.point.sale', 'pay', member_sales)
        read = {s['id']: s for s in _search_read(config, 'sale.point.sale',
                [('id', 'in', sales)], ['amount_to_pay'])}
        payments = []
        for sale, code in zip(sales, codes):
            payments += _payments(rng, read[sale], code, methods)
        _create(config, 'sale.point.payment', payments)
        # Few points a call: each point's strict sequence is locked on
        # its own, and each lock starts the call again
        _call(config, 'sale.point.sale', 'process', sales, size=10)
        if day:
            _call(config, 'sale.point.sale', 'post', sales)
            close_sessions(config, sessions, date, transfer_type,
                post=day > 1)


def create_transfer_type(config):
    "The clerks deposit the day's cash at the bank"
    from trytond.modules.account.tests.tools import get_accounts
    Account = Model.get('account.account', config=config)
    Company = Model.get('company.company', config=config)
    Journal = Model.get('account.journal', config=config)
    TransferType = Model.get('sale.point.cash.transfer.type', config=config)
    accounts = get_accounts(Company.find()[0], config=config)
    bank = Account(name="银行存款（专柜现金缴存）", code='1002.01')
    bank.parent = accounts['cash'].parent
    bank.type = accounts['cash'].type
    bank.save()
    journal, = Journal.find([('type', '=', 'cash')], limit=1)
    transfer_type = TransferType(name="现金缴存银行", journal=journal,
        account=bank)
    transfer_type.save()
    return transfer_type


def open_sessions(config, counters, date, previous):
    "Open the counters' cash sessions of date: {point id: session id}"
    vlist = [{'point': p['id'], 'date': date,
            'previous_session': previous.get(p['id'])} for p in counters]
    sessions = _create(config, 'sale.point.cash.session', vlist)
    return {v['point']: s.id for v, s in zip(vlist, sessions)}


def close_sessions(config, sessions, date, transfer_type, post):
    """Deposit the cash of the day's sessions at the bank (what is above
    the float of 100 or so, in hundreds), count what is left and close;
    post them when post"""
    Session = Model.get('sale.point.cash.session', config=config)
    ids = list(sessions.values())
    expected = {s['id']: s for s in _search_read(
            config, 'sale.point.cash.session', [('id', 'in', ids)],
            ['expected_amount', 'point'])}
    transfers, counted = [], {}
    for session in expected.values():
        deposit = ((session['expected_amount'] - 100) / 100).to_integral_value(
            ROUND_FLOOR) * 100
        if deposit > 0:
            transfers.append({'point': session['point'],
                    'session': session['id'], 'type': transfer_type.id,
                    'amount': -deposit, 'date': date})
        counted[session['id']] = session['expected_amount'] - max(
            deposit, 0)
    _create(config, 'sale.point.cash.transfer', transfers)
    args = []
    for session_id, amount in counted.items():
        args += [[session_id], {'end_amount': amount}]
    Session._proxy.write(*args, config.context)
    _call(config, 'sale.point.cash.session', 'close', ids)
    if post:
        _call(config, 'sale.point.cash.session', 'post', ids)


class Device:
    "A point's device: a signed client of the feed in this process"

    def __init__(self, database, device, secret):
        from werkzeug.test import Client

        from trytond.wsgi import app
        self.client = Client(app)
        self.url = f'/{database}/relief/counter/v1/points/{device}'
        self.secret = secret

    def post(self, path, body, expected=(200,)):
        data = json.dumps(body, ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        signature = hmac.new(self.secret.encode(),
            timestamp.encode() + b'.' + data, hashlib.sha256).hexdigest()
        response = self.client.post(self.url + path, data=data,
            content_type='application/json',
            headers={'X-Relief-Timestamp': timestamp,
                'X-Relief-Signature': signature})
        answer = response.get_json()
        if response.status_code not in expected:
            raise RuntimeError(
                f"counter feed: {response.status_code} {answer}")
        return answer


def create_device(config, point):
    "Give the point a device id and secret by the wizard (shown once)"
    Point = Model.get('sale.point', config=config)
    wizard = Wizard('relief.counter.feed.secret', [Point(point['id'])],
        config=config)
    return wizard.form.device, wizard.form.secret


def feeds(config, rng, points, members, prices, today, passwords):
    """The cabinets' sales of the week sent by their operator's system
    (the headquarters cabinet's last batch twice), the count of that
    cabinet, and the offline counter's morning sales"""
    programs = _programs(config, today)
    products = {p['id']: p['code'] for p in _search_read(
            config, 'product.product', [
                ('id', 'in', list({p for p, _ in prices}))], ['code'])}
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(
        microsecond=0)
    by_code = {p['code']: p for p in points}
    for point in points:
        if point['kind'] != 'cabinet' and point['code'] != OFFLINE:
            continue
        device, secret = create_device(config, point)
        if point['code'] in {COUNTED, OFFLINE}:
            passwords[f"device {device} secret ({point['name']}):"] = secret
        client = point['device'] = Device(
            config.database_name, device, secret)
        if point['code'] == OFFLINE:
            entries = _device_sales(rng, point, now, [now.date()], (5, 7),
                'T1', members, prices, products, programs, hours=(-4, -1))
            # The clerk typed a payment a yuan short: the sale is taken,
            # left open and flagged for finance (Device Sales to Check)
            short = next(e['payments'][0] for e in reversed(entries)
                if Decimal(e['payments'][0]['amount']) > 1)
            short['amount'] = str(Decimal(short['amount']) - 1)
            client.post('/sales', {'sales': entries})
            continue
        days = [(now - dt.timedelta(days=d)).date()
            for d in range(DAYS - 1, -1, -1)]
        entries = _device_sales(rng, point, now, days,
            CABINET_SALES_PER_DAY, 'C', members,
            prices, products, programs)
        past = [e for e in entries if e['time'][:10] < str(now.date())]
        todays = [e for e in entries if e not in past]
        batches = [b for b in [past, todays] if b]
        for batch in batches:
            client.post('/sales', {'sales': batch})
        if point['code'] == COUNTED:
            # No answer reached the operator: it sends its last batch
            # again, and nothing is taken twice
            answer = client.post('/sales', {'sales': batches[-1]})
            assert answer['already_taken'] == len(batches[-1]), answer
    count_cabinet(by_code[COUNTED], products)


def _programs(config, today):
    """The running programmes as a device caches them, by priority: the
    programmes without coupon, for members"""
    rows = _search_read(config, 'relief.subsidy.program', [
            ('state', '=', 'running'),
            ('valid_from', '<=', today),
            ('valid_to', '>=', today),
            ('coupon', '=', None),
            ('customers', 'in', ['members', 'both']),
            ], ['rule', 'percentage', 'unit_amount', 'floor_price',
            'member_price', 'products', 'categories', 'unions',
            'union_levels', 'priority'])
    # The devices of the demo know the programmes of products or of all
    return sorted((r for r in rows if not r['categories']
            and not r['unions'] and not r['union_levels']),
        key=lambda r: (r['priority'], r['id']))


def _device_subsidy(programs, product, price, quantity):
    "The member's subsidy of a line as relief_subsidy computes it"
    total, left = Decimal(0), price
    for program in programs:
        if program['products'] and product not in program['products']:
            continue
        if program['rule'] == 'percentage':
            unit = price * (program['percentage'] or 0) / 100
        elif program['rule'] == 'fixed':
            unit = program['unit_amount'] or 0
        else:
            unit = left - (program['member_price'] or 0)
        unit = min(unit, left - (program['floor_price'] or 0))
        unit = Decimal(unit).quantize(Decimal('0.01'))
        if unit > 0:
            total += (unit * Decimal(str(quantity))).quantize(
                Decimal('0.01'))
            left -= unit
    return total


def _device_sales(rng, point, now, days, per_day, prefix, members, prices,
        products, programs, hours=(8, 20)):
    """The sales the device recorded on days (at hours of the day, or
    hours before now when negative), with its own ids, paid by QR code or
    cash; members paid what the subsidies left"""
    entries = []
    stocked = [p for p, (_, q) in point['stock'].items() if q > 4]
    for date in days:
        for _ in range(rng.randint(*per_day)):
            if hours[0] < 0:
                at = now + dt.timedelta(
                    minutes=rng.randint(hours[0] * 60, hours[1] * 60))
            else:
                at = dt.datetime.combine(date, dt.time(
                        rng.randint(hours[0], hours[1] - 1),
                        rng.randint(0, 59)), now.tzinfo)
            member = rng.choice(members) if rng.random() < 0.3 else None
            lines = [(p, rng.choice([1, 1, 2]))
                for p in rng.sample(stocked, rng.choice([1, 1, 2]))]
            method = ('CASH' if prefix.startswith('T') and rng.random() < 0.5
                else rng.choice(['WECHAT', 'QUICKPASS']))
            # Drawn whatever the time of the build: the same sales
            if at > now - dt.timedelta(minutes=5):
                continue
            entries.append(_device_entry(point, at, member, lines, method,
                    prices, products, programs))
    entries.sort(key=lambda e: e['time'])
    for n, entry in enumerate(entries, 1):
        entry['id'] = f"{point['code']}-{prefix}-{n:05d}"
    return entries


def _device_entry(point, at, member, lines, method, prices, products,
        programs):
    "A sale as the device sends it: the member pays what subsidies leave"
    total, subsidy, values = Decimal(0), Decimal(0), []
    for product, quantity in lines:
        point['stock'][product][1] -= quantity
        price = prices[product, bool(member)][1]
        values.append({'product': products[product],
                'quantity': quantity, 'unit_price': str(price)})
        total += (price * quantity).quantize(Decimal('0.01'))
        if member:
            subsidy += _device_subsidy(programs, product, price, quantity)
    entry = {'id': '', 'time': at.isoformat(), 'lines': values,
        'payments': [{'method': method, 'amount': str(total - subsidy)}]}
    if member:
        entry['member'] = member
    return entry


def count_cabinet(point, products):
    """The operator counts the cabinet: a box short of one product, the
    others as expected; the count becomes the location's inventory"""
    counts = []
    for n, product in enumerate(sorted(point['stock'])):
        counted = point['stock'][product][1] - (1 if n == 0 else 0)
        counts.append({'product': products[product],
                'quantity': max(counted, 0)})
    return point['device'].post('/counts', {'counts': counts},
        expected=(201,))
