# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Demo data of relief_mall's union orders (B2B): the buyer of the
federation of 周至县 and their Mid-Autumn order of 300 gift packs for 12
places of the county (its grassroots unions and, to make 12, the
federation's own sites), with its delivery list imported from Excel, sent
to the back office (quotation) for confirmation.

Called by relief_mall.py (load); it reuses the unions, plans and gift packs
of relief_union.py.  The union, the gift pack and the places are those of
the demo; the recipients' contact people and phone numbers are invented."""
import datetime as dt
import secrets
from decimal import Decimal

from proteus import Model, Wizard

from relief_certification import as_user
from relief_union import ACCOUNTANT_COUNTY, GIFT_PACKS

from trytond.modules.relief.excel import write_workbook
from trytond.modules.relief_mall.union import LAYOUT

LOGIN = 'buyer'
NAME = "赵磊（周至县总工会采购员）"
PACKS = 300
RECIPIENTS = 12
# Real towns of 周至县, for the delivery addresses
TOWNS = ["二曲街道", "哑柏镇", "终南镇", "马召镇", "集贤镇", "楼观镇",
    "尚村镇", "广济镇", "厚畛子镇", "四屯镇", "竹峪镇", "青化镇"]
# Where the federation hands out the gifts of its own staff
OWN_SITES = ["机关", "职工服务中心"]
CONTACTS = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐",
    "孙"]


def load(config, passwords):
    union = _union(config)
    create_buyer(config, union, passwords)
    pack = _pack(config)
    recipients = _recipients(config, union)
    sale = create_order(config, union, pack, recipients)
    _cover(config, sale)


def _union(config):
    "The federation of 周至县, whose accountant the demo has too"
    Party = Model.get('party.party', config=config)
    union, = Party.find([
            ('union_level', '=', 'county'),
            ('union_area.gbt2260_code', '=', ACCOUNTANT_COUNTY),
            ])
    return union


def _pack(config):
    """A gift pack of relief_union's demo whose relief products are all
    listed (a delisted product cannot be sold)"""
    Entry = Model.get('relief.catalogue.entry', config=config)
    Product = Model.get('product.product', config=config)
    listed = {e.template.id for e in Entry.find([('state', '=', 'listed')])}
    for name, _, _ in GIFT_PACKS:
        pack, = Product.find([('name', '=', name)])
        if all(c.product.template.id in listed
                for c in pack.template.components
                if c.product.template.relief):
            return pack
    raise ValueError("no gift pack of listed products")


def _recipients(config, union):
    """The recipients: the grassroots unions below union, and the
    federation's own sites when it has fewer than RECIPIENTS of them"""
    Party = Model.get('party.party', config=config)
    names = [p.name for p in Party.find([
                ('union_parent', '=', union.id),
                ('union_level', '=', 'grassroots'),
                ], order=[('id', 'ASC')], limit=RECIPIENTS)]
    names += [union.name + site for site in OWN_SITES]
    return names[:RECIPIENTS]


def create_buyer(config, union, passwords):
    "The buyer of the union, in the group 工会采购员 only"
    Company = Model.get('company.company', config=config)
    Group = Model.get('res.group', config=config)
    Lang = Model.get('ir.lang', config=config)
    ModelData = Model.get('ir.model.data', config=config)
    User = Model.get('res.user', config=config)
    zh_cn, = Lang.find([('code', '=', 'zh_CN')])
    company, = Company.find([], limit=1)
    password = secrets.token_urlsafe(9)
    user = User(login=LOGIN, name=NAME, password=password)
    user.language = zh_cn
    user.companies.append(company)
    user.company = company
    user.relief_union = union
    user.groups.append(Group(ModelData.get_id(
                'relief_mall', 'group_union_buyer', config.context)))
    user.save()
    passwords[LOGIN] = password


def delivery_list(union, pack, recipients):
    "The Excel delivery list: 25 packs to each recipient"
    per_union = PACKS // len(recipients)
    rows = []
    for i, (recipient, town) in enumerate(zip(recipients, TOWNS), 1):
        quantity = per_union if i < len(recipients) else (
            PACKS - per_union * (len(recipients) - 1))
        rows.append({
                'name': recipient,
                'contact': CONTACTS[i - 1] + "老师",
                'phone': '1390915%04d' % i,
                'street': "陕西省西安市周至县%s%s号" % (town, 10 + i),
                'product': pack.code or pack.name,
                'quantity': quantity,
                'comment': "演示数据",
                })
    return write_workbook(LAYOUT, rows,
        header_lines=[LAYOUT.header_lines[0] + union.name])


def create_order(config, union, pack, recipients):
    """The buyer's order: 300 packs, the delivery list imported, sent to
    the back office"""
    with as_user(config, LOGIN):
        Sale = Model.get('sale.sale', config=config)
        sale = Sale()
        sale.description = "中秋节日慰问品（演示数据）"
        sale.sale_date = _festival()
        line = sale.lines.new()
        line.product = pack
        line.quantity = PACKS
        sale.save()
        import_ = Wizard('relief.mall.delivery.import', [sale],
            config=config)
        import_.form.file = delivery_list(union, pack, recipients)
        import_.form.filename = "中秋慰问品配送清单.xlsx"
        import_.execute('import_')
        sale.click('quote')
    return sale


def _festival():
    "The Mid-Autumn purchase date of relief_union's demo, or today"
    today = dt.date.today()
    return min(today, dt.date(today.year, 9, 15))


def _cover(config, sale):
    """Give the union the quota its order needs if the demo's plans leave
    too little: the province's command office raises it down the tree"""
    Sale = Model.get('sale.sale', config=config)
    Plan = Model.get('relief.union.plan', config=config)
    sale = Sale(sale.id)
    if sale.union_quota is None or sale.union_quota_left >= 0:
        return
    # In whole 10,000 CNY, rounded up
    missing = (-sale.union_quota_left / 10000).quantize(
        Decimal('1'), rounding='ROUND_UP')
    chain, party = [], sale.party
    while party:
        chain.insert(0, party)
        party = party.union_parent
    for party in chain:
        plan, = Plan.find([('union', '=', party.id),
                ('year', '=', sale.union_year)])
        state = plan.state
        if state == 'confirmed':
            plan.click('draft')
        plan.quota = (plan.quota or 0) + missing
        plan.save()
        if state == 'confirmed':
            plan.click('confirm')
