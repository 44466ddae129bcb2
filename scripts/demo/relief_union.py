# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Demo data of relief_union: Shaanxi's union tree, members, annual plans
and the unions' purchases of relief products.

The federations are the real ones of the province, its 10 cities and its
107 county-level divisions, named after the county register; the provincial
industry unions are named like the real ones.  Everything else is invented:
the directly administered units and the companies (any likeness to a real
company's name is unintended), the grassroots unions, the members, their
numbers, the figures of the plans and the credit codes.

The figures make the compliance report tell a story: the unions of six
counties (周至县, whose federation the demo's union accountant belongs to,
汉阴县 and 紫阳县 in Ankang where the share is 50 %, 米脂县, 淳化县 and
雁塔区) bought festival gifts, some enough to comply and some not; a few
unions plan gifts above the 2,200 CNY cap; a few have not sent their plan or
sent it incomplete; the unions without purchases do not comply.

Records are created set-based (a create call per model and batch), as in
relief_certification.py, whose helpers are reused."""
import datetime as dt
import math
import random
from decimal import ROUND_UP, Decimal

from proteus import Model
from stdnum.cn import uscc

from relief_certification import (
    DRAFT, SUSPENDED, SUPPLIERS, _click, _create, as_user)

ANKANG_RULE_SOURCE = "安康市总工会关于提高消费帮扶采购比例的通知（演示数据）"
ANKANG_RULE_COMMENT = (
    "演示数据：安康市将慰问品中扶贫产品的采购比例提高到50%（示例，"
    "并非正式文件的原文）。")

PROVINCE = "陕西省总工会"
# Provincial industry unions (省级产业工会): (name, own members, trades of
# the companies whose unions are below it)
INDUSTRY = [
    ("陕西省教科文卫体工会", 36, ["文化传媒", "教育科技", "体育发展"]),
    ("陕西省能源化学地质工会", 42, ["煤化工", "地质勘查", "天然气"]),
    ("陕西省机械冶金建材工会", 38, ["重型机械", "钢结构", "新型建材"]),
    ("陕西省农林水利气象工会", 30, ["林业发展", "水利工程", "种业"]),
    ("陕西省财贸轻纺烟草工会", 28, ["商贸", "纺织", "百货"]),
    ]
# Directly administered units (单列单位工会): invented groups and their
# subsidiaries (grassroots unions below them), with their county
DIRECT = [
    ("陕西渭岭能源集团有限公司", 620,
        [("榆林煤业有限公司", '610802'), ("神木化工有限公司", '610881'),
            ("延安油气服务有限公司", '610602')]),
    ("陕西秦峪交通建设集团有限公司", 540,
        [("路桥工程有限公司", '610112'), ("汉中养护有限公司", '610702'),
            ("商洛隧道工程有限公司", '611002')]),
    ("陕西汉澜水务集团有限公司", 380,
        [("安康供水有限公司", '610902'), ("渭南水环境有限公司", '610502'),
            ("宝鸡水务运营有限公司", '610302')]),
    ("陕西云麓文化旅游集团有限公司", 310,
        [("临潼景区管理有限公司", '610115'), ("延安红色旅游有限公司", '610602'),
            ("汉中文旅发展有限公司", '610702')]),
    ("陕西嘉穗农业发展集团有限公司", 260,
        [("渭北粮食储备有限公司", '610526'), ("关中面业有限公司", '610423'),
            ("陕南茶业有限公司", '610902')]),
    ("陕西锦塬建工集团有限公司", 700,
        [("第一建筑工程有限公司", '610113'), ("安装工程有限公司", '610116'),
            ("咸阳建材有限公司", '610402')]),
    ]

# Grassroots unions of a county: public institutions and invented companies
INSTITUTIONS = [
    # (name after the county's name, members range)
    ("第一中学", (90, 220)), ("第二中学", (70, 180)),
    ("实验小学", (50, 130)), ("实验中学", (60, 160)),
    ("职业教育中心", (40, 110)), ("人民医院", (300, 900)),
    ("中医医院", (150, 450)), ("妇幼保健院", (80, 220)),
    ("疾病预防控制中心", (40, 90)), ("融媒体中心", (30, 80)),
    ("教育局机关", (25, 60)), ("财政局机关", (30, 70)),
    ("农业农村局机关", (30, 80)), ("交通运输局机关", (25, 70)),
    ("住房和城乡建设局机关", (30, 70)), ("卫生健康局机关", (25, 60)),
    ("人力资源和社会保障局机关", (30, 70)), ("市场监督管理局机关", (35, 90)),
    ("文化和旅游局机关", (20, 50)), ("乡村振兴局机关", (20, 45)),
    ("水利局机关", (20, 55)), ("城市管理局机关", (40, 120)),
    ]
# Invented brand words and trades for company names (none of the groups')
BRANDS = [
    "岚溪", "渭禾", "岭曦", "苍岭", "汧禾", "川沐", "禾丰源", "湑川", "栖岭",
    "沣溪", "鄠杜", "润塬", "拓垣", "青岫", "骊禾", "汭川", "洛湄", "翠篁",
    "晟麓", "峪丰", "塬鑫", "泾渭源", "楠岭", "澧禾"]
TRADES = [
    "建材", "食品", "物流", "机械制造", "纺织", "农业开发", "商贸", "电子科技",
    "印务", "包装", "新能源", "生物科技", "建筑工程", "酒店管理", "果业"]
# Counties whose unions bought relief products this year: GB/T 2260 code
# -> grassroots unions, and per grassroots union the outcome wanted:
# ok (share above the minimum), low (below), over (share fine but a gift
# standard above the cap), noplan (no plan sent, purchases all the same),
# none (no purchase)
ACTIVE = {
    '610124': ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'low', 'low', 'over',
        'noplan'],  # 周至县: the demo accountant's union
    '610921': ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'low', 'low'],  # 汉阴县
    '610924': ['ok', 'ok', 'ok', 'low', 'low', 'low', 'low', 'low'],  # 紫阳县
    '610827': ['ok', 'ok', 'low', 'low', 'low', 'low', 'none', 'none'],
    '610430': ['ok', 'ok', 'ok', 'ok', 'ok', 'low', 'low', 'low'],  # 淳化县
    '610113': ['ok', 'ok', 'ok', 'low'],  # 雁塔区 (and more, inactive)
    }
ACCOUNTANT_COUNTY = '610124'
ANKANG = '610900'
# Unions of the tree: how many plans are missing, incomplete, above the cap
NO_PLAN, INCOMPLETE, OVER_CAP = 10, 6, 10
STANDARDS = [1000, 1200, 1500, 1600, 1800, 2000, 2000, 2200, 2200]
OVER_STANDARDS = [2400, 2500, 2800, 3000]
# Festival gift purchases of the year: (month, day, description)
FESTIVALS = [
    (1, 20, "春节慰问品"), (6, 10, "端午节慰问品"), (7, 15, "夏季送清凉"),
    (9, 15, "中秋节慰问品")]
MEMBERS = 200
MEMBER_SALES = 30
# Gift packs (大礼包): name, list price, components by product name; the
# packaging is not a relief product, so a pack is not all relief spending
GIFT_PACKS = [
    ("陕西消费帮扶中秋大礼包", 268, [
            "周至猕猴桃礼盒（翠香 24枚）", "汉阴富硒绿茶（250g 礼盒）",
            "柞水木耳（250g）", "米脂小米（2.5kg）", "礼盒包装（双层手提）"]),
    ("秦岭山珍年货礼包", 258, [
            "留坝香菇（250g）", "柞水黑木耳（500g）", "秦岭土蜂蜜（500g）",
            "洋县黑米（2.5kg）", "礼盒包装（双层手提）"]),
    ]

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马胡朱郭何罗高林郑梁谢宋唐许韩冯邓曹彭曾"
    "田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金贾")
GIVEN = (
    "建国军华明丽娟敏静磊强伟芳秀英文杰涛斌超红霞玉兰桂萍鹏飞宇浩然欣怡"
    "晓燕海波志刚永峰春梅小龙雪晴佳琪子涵思远博文嘉豪雨桐")
STREETS = ["人民路", "解放路", "建设路", "文化路", "滨河路", "北大街", "南大街"]
TEN_THOUSAND = Decimal(10000)
FOUR = Decimal('0.0001')


def load(config, passwords):
    rng = random.Random(2262)  # the same data at every build
    Date = Model.get('ir.date', config=config)
    today = Date._proxy.today(config.context)
    create_ankang_rule(config)
    areas = read_areas(config)
    unions = plan_tree(rng, areas)
    create_unions(config, rng, unions)
    members = create_members(config, rng, unions)
    packs = create_gift_packs(config)
    with as_user(config, 'backoffice'):
        create_plans(config, rng, unions, today)
        create_sales(config, rng, unions, members, packs, today)
    link_accountant(config, unions)


def _search_read(config, model, domain, fields):
    return Model.get(model, config=config)._proxy.search_read(
        domain, 0, None, None, fields, config.context)


def create_ankang_rule(config):
    "Ankang city raised the minimum share to 50 % (an example notice)"
    Rule = Model.get('relief.rule', config=config)
    Subdivision = Model.get('country.subdivision', config=config)
    ankang, = Subdivision.find([('gbt2260_code', '=', ANKANG)])
    if Rule.find([
                ('jurisdiction', '=', ankang.id),
                ('kind', '=', 'relief_share_min'),
                ]):
        return
    rule = Rule(jurisdiction=ankang, kind='relief_share_min')
    rule.value = Decimal(50)
    rule.valid_from = dt.date(2021, 1, 1)
    rule.source = ANKANG_RULE_SOURCE
    rule.comment = ANKANG_RULE_COMMENT
    rule.save()


def read_areas(config):
    "The province, its cities and counties by GB/T 2260 code"
    records = _search_read(config, 'country.subdivision', [
            ('relief_level', 'in', ['province', 'city', 'county']),
            ], ['name', 'type', 'relief_level', 'gbt2260_code', 'parent',
            'country'])
    by_id = {r['id']: r for r in records}
    areas = {}
    for record in records:
        parent = by_id.get(record['parent'])
        record['city'] = parent if record['relief_level'] == 'county' else (
            record if record['relief_level'] == 'city' else None)
        areas[record['gbt2260_code']] = record
    return areas


def _union(key, name, level, parent, area, members, **extra):
    return dict(key=key, name=name, level=level, parent=parent, area=area,
        members=members, **extra)


def plan_tree(rng, areas):
    """Return the unions to create, uppers first, as dicts keyed by 'key'
    with the outcome wanted for the ones that buy"""
    province = next(a for a in areas.values()
        if a['relief_level'] == 'province')
    unions = [_union('province', PROVINCE, 'province', None, province, 260)]
    cities = sorted((a for a in areas.values() if a['relief_level'] == 'city'),
        key=lambda a: a['gbt2260_code'])
    for city in cities:
        unions.append(_union(city['gbt2260_code'], city['name'] + "总工会",
                'city', 'province', city, rng.randint(40, 120)))
    counties = sorted(
        (a for a in areas.values() if a['relief_level'] == 'county'),
        key=lambda a: a['gbt2260_code'])
    for county in counties:
        name = county['name']
        if county['type'] == 'district':
            # 西安市雁塔区总工会: districts are named with their city
            name = county['city']['name'] + name
        unions.append(_union(county['gbt2260_code'], name + "总工会",
                'county', county['city']['gbt2260_code'], county,
                rng.randint(15, 50)))
    for i, (name, members, _) in enumerate(INDUSTRY):
        unions.append(_union('industry%d' % i, name, 'industry', 'province',
                province, members))
    xian = areas['610100']
    for i, (name, members, _) in enumerate(DIRECT):
        unions.append(_union('direct%d' % i, name + "工会", 'direct',
                'province', xian, members))

    seen = set()

    def company(make):
        "An unused invented company name: make(brand) with another brand"
        for brand in rng.sample(BRANDS, len(BRANDS)):
            name = make(brand)
            if name not in seen:
                seen.add(name)
                return name
        raise ValueError(make(''))

    grassroots = []
    for county in counties:
        code = county['gbt2260_code']
        short = county['name']
        outcomes = ACTIVE.get(code, [])
        if code.startswith('6101') and county['type'] == 'district':
            count = rng.randint(12, 18)
        elif county['type'] == 'district':
            count = rng.randint(9, 12)
        else:
            count = rng.randint(7, 10)
        count = max(count, len(outcomes))
        if code in ACTIVE and county['type'] == 'county':
            count = len(outcomes)
        institutions = rng.sample(INSTITUTIONS, min(
                len(INSTITUTIONS), count - count * 2 // 5))
        names = [(short + n, rng.randint(*r)) for n, r in institutions]
        trades = rng.sample(TRADES, count - len(names))
        for trade in trades:
            names.append((
                    company(lambda b: short + b + trade + "有限公司"),
                    rng.randint(20, 400)))
        # The unions that buy are small and middle-sized ones
        names.sort(key=lambda n: n[1])
        for i, (name, members) in enumerate(names):
            outcome = outcomes[i] if i < len(outcomes) else None
            if outcome:
                members = min(members, rng.randint(30, 160))
            grassroots.append(_union('%s-%02d' % (code, i), name + "工会",
                    'grassroots', code, county, members, outcome=outcome))
    county_codes = [c['gbt2260_code'] for c in counties]
    for i, (_, _, kinds) in enumerate(INDUSTRY):
        for j in range(8):
            county = areas[rng.choice(county_codes)]
            name = company(
                lambda b: "陕西%s%s有限公司" % (b, kinds[j % 3])) + "工会"
            grassroots.append(_union('industry%d-%02d' % (i, j), name,
                    'grassroots', 'industry%d' % i, county,
                    rng.randint(60, 900), outcome=None))
    for i, (group, _, subsidiaries) in enumerate(DIRECT):
        prefix = group[:-len("有限公司")]
        for j, (subsidiary, code) in enumerate(subsidiaries):
            grassroots.append(_union('direct%d-%02d' % (i, j),
                    prefix + subsidiary + "工会", 'grassroots',
                    'direct%d' % i, areas[code], rng.randint(80, 1200),
                    outcome=None))
    assert len({u['name'] for u in unions + grassroots}) == (
        len(unions) + len(grassroots))
    return unions + grassroots


def union_credit_code(rng, region, seen):
    """A valid unified social credit code of a union (GB 32100: 8 the union
    registration authority, 1 a union legal person)"""
    while True:
        body = 'MA' + ''.join(rng.choice('0123456789BCDEFGHJ')
            for _ in range(6))
        weights = [3, 7, 9, 10, 5, 8, 4, 2]
        total = sum(int(c, 36) * w for c, w in zip(body, weights))
        check = 11 - total % 11
        check = {10: 'X', 11: '0'}.get(check, str(check))
        number = '81' + region + body + check
        number += uscc.calc_check_digit(number)
        if number not in seen:
            seen.add(number)
            return number


def create_unions(config, rng, unions):
    "Create the unions level by level, storing their party and address ids"
    Lang = Model.get('ir.lang', config=config)
    PartyConfiguration = Model.get('party.configuration', config=config)
    types = {t for t, _ in
        PartyConfiguration._fields['identifier_types']['selection']}
    uscc_type = 'cn_uscc' if 'cn_uscc' in types else 'cn_vat'
    zh_cn, = Lang.find([('code', '=', 'zh_CN')])
    by_key = {u['key']: u for u in unions}
    codes = set()
    for level in [['province'], ['city'], ['county', 'industry', 'direct'],
            ['grassroots']]:
        batch = [u for u in unions if u['level'] in level]
        vlist = []
        for union in batch:
            area = union['area']
            city = area['city'] or area
            address = {
                'country': area['country'],
                'subdivision': area['id'],
                'city': city['name'] if area['relief_level'] != 'province'
                else "西安市",
                }
            if union['level'] in {'grassroots', 'direct'}:
                address['street_unstructured'] = "%s%d号" % (
                    rng.choice(STREETS), rng.randint(1, 300))
            parent = by_key[union['parent']] if union['parent'] else None
            vlist.append({
                    'name': union['name'],
                    'lang': zh_cn.id,
                    'union_level': union['level'],
                    'union_parent': parent['id'] if parent else None,
                    'union_area': area['id'],
                    'union_members': union['members'],
                    'addresses': [('create', [address])],
                    'identifiers': [('create', [{
                                    'type': uscc_type,
                                    'code': union_credit_code(
                                        rng, area['gbt2260_code'], codes),
                                    }])],
                    })
        for union, party in zip(batch, _create(config, 'party.party', vlist)):
            union['id'] = party.id
    _store_addresses(config, unions)


def _store_addresses(config, parties):
    by_id = {p['id']: p for p in parties}
    for address in _search_read(config, 'party.address', [
                ('party', 'in', list(by_id)),
                ], ['party']):
        by_id[address['party']]['address'] = address['id']


def create_members(config, rng, unions):
    """Members (会员) of the unions that buy, and a few of others, who buy in
    the member mall"""
    buying = [u for u in unions if u.get('outcome') not in {None, 'none'}]
    others = [u for u in unions if u['level'] == 'grassroots'
        and not u.get('outcome')]
    numbers = rng.sample(range(10 ** 8, 10 ** 9), MEMBERS)
    members, vlist = [], []
    for i in range(MEMBERS):
        union = rng.choice(buying) if i < MEMBERS * 3 // 4 else (
            rng.choice(others))
        name = rng.choice(SURNAMES) + ''.join(
            rng.sample(GIVEN, rng.choice([1, 2])))
        area = union['area']
        member = dict(name=name, union=union, number='SN%09d' % numbers[i])
        members.append(member)
        vlist.append({
                'name': name,
                'member_union': union['id'],
                'member_number': member['number'],
                'addresses': [('create', [{
                                'country': area['country'],
                                'subdivision': area['id'],
                                'city': (area['city'] or area)['name'],
                                'street_unstructured': "%s%d号%d单元" % (
                                    rng.choice(STREETS), rng.randint(1, 300),
                                    rng.randint(1, 6)),
                                }])],
                })
    for member, party in zip(members, _create(config, 'party.party', vlist)):
        member['id'] = party.id
    _store_addresses(config, members)
    return members


def create_gift_packs(config):
    "Gift packs of products of several counties, with their packaging"
    Category = Model.get('product.category', config=config)
    account, = Category.find([('name', '=', "消费帮扶产品")])
    parent, = Category.find([('name', '=', "扶贫产品")])
    names = {n for _, _, components in GIFT_PACKS for n in components}
    templates = {t['name']: t for t in _search_read(
            config, 'product.template', [('name', 'in', list(names))],
            ['name', 'products', 'default_uom', 'list_price', 'relief'])}
    category, = _create(config, 'product.category', [
            {'name': "大礼包", 'parent': parent.id}])
    box = templates[GIFT_PACKS[0][2][0]]['default_uom']
    vlist = []
    for i, (name, price, components) in enumerate(GIFT_PACKS):
        vlist.append({
                'name': name,
                'code': 'LB%03d' % (i + 1),
                'type': 'kit',
                'cost_price_method': 'fixed',
                'default_uom': box,
                'sale_uom': box,
                'salable': True,
                'list_price': Decimal(price),
                'account_category': account.id,
                'categories': [('add', [category.id])],
                'products': [('create', [{}])],
                'components': [('create', [{
                                'product': templates[c]['products'][0],
                                'quantity': 1,
                                'unit': templates[c]['default_uom'],
                                } for c in components])],
                })
    packs = []
    for (name, price, components), template in zip(
            GIFT_PACKS, _create(config, 'product.template', vlist)):
        total = sum(templates[c]['list_price'] for c in components)
        relief = sum(templates[c]['list_price'] for c in components
            if templates[c]['relief'])
        packs.append(dict(name=name, product=template.products[0].id,
                unit=box, price=Decimal(price), share=relief / total,
                components=[templates[c]['id'] for c in components
                    if templates[c]['relief']]))
    return packs


def _quantize(value, exp=FOUR, rounding=None):
    if rounding:
        return value.quantize(exp, rounding=rounding)
    return value.quantize(exp)


def create_plans(config, rng, unions, today):
    """The annual plans (附件1) of the year: a grassroots union's own
    figures, an upper union's those of its subtree; the reserved quota
    flows down the tree"""
    year = today.year
    grassroots = [u for u in unions if u['level'] == 'grassroots']
    quiet = [u for u in grassroots if not u.get('outcome')]
    picked = rng.sample(quiet, NO_PLAN + INCOMPLETE + OVER_CAP)
    for union in picked[:NO_PLAN]:
        union['outcome'] = 'noplan'
    for union in picked[NO_PLAN:NO_PLAN + INCOMPLETE]:
        union['incomplete'] = True
    for union in picked[NO_PLAN + INCOMPLETE:]:
        union['outcome'] = 'over'
    children = {}
    for union in unions:
        children.setdefault(union['parent'], []).append(union)

    def figures(union):
        "Compute the plan of union and its subtree, bottom up"
        ankang = union['area']['gbt2260_code'].startswith('6109')
        rate = (Decimal(rng.randint(50, 60)) if ankang
            else Decimal(rng.randint(30, 45))) / 100
        if union.get('outcome') == 'over':
            standard = Decimal(rng.choice(OVER_STANDARDS))
        elif union.get('outcome'):
            standard = Decimal(rng.choice(STANDARDS[:-2]))
        else:
            standard = Decimal(rng.choice(STANDARDS))
        own_gift = standard * union['members'] / TEN_THOUSAND
        plan = dict(
            grassroots_unions=0, members=union['members'],
            gift_standard=standard, gift_total=own_gift,
            planned_relief=_quantize(own_gift * rate), allocated=Decimal(0))
        for child in children.get(union['key'], []):
            figures(child)
            child_plan = child.get('plan')
            plan['grassroots_unions'] += child['grassroots_below'] + (
                child['level'] == 'grassroots')
            plan['members'] += child['members_below']
            if child_plan and child_plan.get('gift_total') is not None:
                plan['gift_total'] += child_plan['gift_total']
                plan['planned_relief'] += child_plan['planned_relief']
                plan['allocated'] += child_plan['quota'] or 0
        union['grassroots_below'] = plan['grassroots_unions']
        union['members_below'] = plan['members']
        if union['level'] == 'grassroots':
            # a fifth of the planned spending is left to the union itself
            plan['quota'] = _quantize(plan['planned_relief'] * 4 / 5)
        else:
            # what the unions below get and a margin for central purchases
            plan['quota'] = _quantize(
                plan['allocated'] * Decimal('1.1') + own_gift * rate,
                rounding=ROUND_UP)
        if union.get('outcome') == 'noplan':
            return
        values = {
            'union': union['id'],
            'year': year,
            'grassroots_unions': plan['grassroots_unions'] or None,
            'workers': _quantize(plan['members'] / TEN_THOUSAND),
            'gift_standard': plan['gift_standard'],
            'gift_total': _quantize(plan['gift_total']),
            'planned_relief': _quantize(plan['planned_relief']),
            'quota': plan['quota'],
            }
        if union.get('incomplete'):
            values.update(workers=None, gift_total=None, quota=None,
                comment="演示数据：基层工会尚未报送职工数和慰问品总额。")
        elif union.get('outcome') == 'over':
            values['comment'] = (
                "演示数据：慰问品标准高于每人每年2200元的规定，待整改。")
        union['plan'] = values
    figures(unions[0])
    depth = {'province': 0, 'city': 1, 'county': 2, 'industry': 1,
        'direct': 1, 'grassroots': 3}
    ordered = sorted((u for u in unions if u.get('plan')),
        key=lambda u: depth[u['level']])
    # Uppers first: an allocation needs the upper union's plan
    plans = []
    for level in range(4):
        vlist = [u['plan'] for u in ordered if depth[u['level']] == level]
        if vlist:
            plans += _create(config, 'relief.union.plan', vlist)
    complete = [p for p, u in zip(plans, ordered)
        if not u.get('incomplete')]
    _click(complete, 'confirm')


def _sale_dates(today):
    "The festival purchases of the year so far, or today early in the year"
    dates = [(dt.date(today.year, m, d), text) for m, d, text in FESTIVALS
        if dt.date(today.year, m, d) <= today]
    return dates or [(today, FESTIVALS[0][2])]


def _listed(config):
    """The relief products that may be sold, with the dates they were listed
    (those of new and suspended suppliers left out)"""
    excluded = {p[0] for s in SUPPLIERS if s[1] in DRAFT or s[1] == SUSPENDED
        for p in s[5]}
    entries = _search_read(config, 'relief.catalogue.entry', [
            ('state', '=', 'listed'),
            ], ['template', 'listed'])
    listed = {e['template']: e['listed'] for e in entries}
    templates = _search_read(config, 'product.template', [
            ('id', 'in', list(listed)),
            ('name', 'not in', list(excluded)),
            ], ['name', 'products', 'sale_uom', 'list_price'])
    return [dict(product=t['products'][0], unit=t['sale_uom'],
            price=t['list_price'], share=Decimal(1), listed=listed[t['id']],
            templates=[t['id']])
        for t in templates]


def create_sales(config, rng, unions, members, packs, today):
    """Festival gifts bought by unions (B2B) and members' purchases in the
    mall (B2C), quoted and confirmed by the back office"""
    PaymentTerm = Model.get('account.invoice.payment_term', config=config)
    term, = PaymentTerm.find([], limit=1)
    products = _listed(config)
    dates = _sale_dates(today)
    year_start = today.replace(month=1, day=1)
    listed_templates = {t for p in products for t in p['templates']}
    pack_listed = {}
    for pack in packs:
        dates_listed = [p['listed'] for p in products
            if p['templates'][0] in pack['components']]
        if set(pack['components']) <= listed_templates:
            pack_listed[pack['product']] = dict(pack, listed=max(
                    dates_listed), templates=pack['components'])

    def available(date):
        return [p for p in products if p['listed'] <= date]

    spending = {}
    vlist = []

    def sale(party, address, date, description, lines, b2b):
        values = {
            'party': party,
            'invoice_address': address,
            'shipment_address': address,
            'sale_date': date,
            'description': description,
            'lines': [('create', [{
                            'type': 'line',
                            'product': p['product'],
                            'unit': p['unit'],
                            'quantity': q,
                            'unit_price': p['price'],
                            } for p, q in lines])],
            }
        if b2b:
            values['payment_term'] = term.id
        vlist.append(values)
        return sum(p['price'] * q * p['share'] for p, q in lines)

    # B2C: members buy a few items in the member mall on any day
    for member in rng.sample(members, MEMBER_SALES):
        date = year_start + dt.timedelta(
            days=rng.randint(0, (today - year_start).days))
        choice = available(date)
        if not choice:
            continue
        lines = [(p, rng.randint(1, 3))
            for p in rng.sample(choice, min(len(choice), rng.randint(1, 3)))]
        union = member['union']
        spending[union['key']] = spending.get(union['key'], 0) + sale(
            member['id'], member['address'], date, "会员商城订单", lines,
            False)

    # B2B: the unions that buy, and the federations of their counties
    buyers = [u for u in unions if u.get('outcome') not in {None, 'none'}
        and u['level'] == 'grassroots' and u['parent'] in ACTIVE]
    buyers += [u for u in unions if u['key'] in ACTIVE]
    for union in buyers:
        ankang = union['area']['gbt2260_code'].startswith('6109')
        minimum = 50 if ankang else 30
        outcome = union.get('outcome')
        if outcome == 'low':
            share = rng.randint(max(minimum - 25, 8), minimum - 6)
        elif union['level'] == 'county':
            share = rng.randint(minimum + 5, minimum + 20)
        else:
            share = rng.randint(minimum + 4, minimum + 40)
        plan = union.get('plan')
        standard = plan['gift_standard'] if plan else Decimal(1500)
        gift = standard * union['members']
        target = gift * share / 100 - spending.get(union['key'], 0)
        # A purchase gives each member gifts worth up to 600 CNY
        count = max(1, min(len(dates), math.ceil(target / union['members']
                    / 600)))
        budget = target / count / union['members']
        for date, description in rng.sample(dates, count):
            # Gift boxes rather than loose goods, and a gift pack at times,
            # so that each member gets one to three of each
            choice = [p for p in available(date) if p['price'] >= 40]
            packs_ = [p for p in pack_listed.values() if p['listed'] <= date]
            if not choice:
                continue
            rng.shuffle(choice)
            lines = []
            if packs_ and rng.random() < 0.3:
                lines.append(rng.choice(packs_))
            while choice and len(lines) < 4 and (not lines or sum(
                        p['price'] * p['share'] for p in lines) < budget / 3):
                lines.append(choice.pop())
            value = sum(p['price'] * p['share'] for p in lines)
            quantity = max(1, int(target / count / value))
            spending[union['key']] = spending.get(union['key'], 0) + sale(
                union['id'], union['address'], date,
                description + "（演示数据）",
                [(p, quantity) for p in lines], True)
    sales = _create(config, 'sale.sale', vlist)
    _click(sales, 'quote')
    _click(sales, 'confirm')


def link_accountant(config, unions):
    "The demo union accountant works for the federation of 周至县"
    User = Model.get('res.user', config=config)
    Party = Model.get('party.party', config=config)
    union = next(u for u in unions if u['key'] == ACCOUNTANT_COUNTY)
    user, = User.find([('login', '=', 'accountant')])
    user.relief_union = Party(union['id'])
    user.save()
