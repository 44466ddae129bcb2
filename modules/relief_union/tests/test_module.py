# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
from decimal import Decimal
from io import BytesIO
from unittest.mock import patch

from openpyxl import load_workbook

from trytond.model import ModelStorage
from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.pool import Pool, isregisteredby
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


def create_unions(levels):
    "Create the unions of (name, level, parent name) and return them by name"
    Party = Pool().get('party.party')
    Subdivision = Pool().get('country.subdivision')
    area, = Subdivision.search([('code', '=', 'CN-SN')])
    unions = {}
    for name, level, parent in levels:
        unions[name], = Party.create([{
                    'name': name,
                    'union_level': level,
                    'union_parent': unions[parent].id if parent else None,
                    'union_area': area.id,
                    'union_members': 10,
                    'addresses': [('create', [{}])],
                    }])
    return unions


def positions(unions):
    "Return each union's (left, right) read from the database"
    # Read with SQL: the tree is updated in SQL, behind the record cache
    table = Pool().get('party.party').__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(table.name, table.union_left,
            table.union_right,
            where=table.id.in_([u.id for u in unions.values()])))
    return {n: (l, r) for n, l, r in cursor}


class ReliefUnionTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Relief Union module"
    module = 'relief_union'

    @with_transaction()
    def test_nested_set_unions_only(self):
        "Only unions get a place in the tree; subtrees are ranges"
        Party = Pool().get('party.party')
        supplier, = Party.create([{'name': "Supplier"}])
        unions = create_unions([
                ("Province", 'province', None),
                ("City A", 'city', "Province"),
                ("City B", 'city', "Province"),
                ("County A1", 'county', "City A"),
                ("Grassroots A1a", 'grassroots', "County A1"),
                ("Grassroots B", 'grassroots', "City B"),
                ])
        member, = Party.create([{
                    'name': "Member", 'member_union': unions["County A1"].id,
                    'member_number': 'M1'}])
        tree = positions(unions)
        self.assertEqual(positions({'s': supplier, 'm': member}),
            {supplier.name: (None, None), member.name: (None, None)})
        for name, parent in [("City A", "Province"), ("County A1", "City A"),
                ("Grassroots A1a", "County A1"), ("Grassroots B", "City B")]:
            self.assertGreater(tree[name][0], tree[parent][0])
            self.assertLess(tree[name][1], tree[parent][1])
        self.assertEqual(
            Party.search([('union_parent', 'child_of', [unions["City A"].id],
                        )], order=[('name', 'ASC')]),
            [unions["City A"], unions["County A1"],
                unions["Grassroots A1a"]])

    @with_transaction()
    def test_move_and_rebuild(self):
        "Moving a union moves its subtree; a rebuild gives the same ranges"
        Party = Pool().get('party.party')
        unions = create_unions([
                ("Province", 'province', None),
                ("City A", 'city', "Province"),
                ("City B", 'city', "Province"),
                ("County", 'county', "City A"),
                ("Grassroots", 'grassroots', "County"),
                ])
        Party.write([unions["County"]], {'union_parent': unions["City B"].id})
        self.assertEqual(
            Party.search([('union_parent', 'child_of', [unions["City B"].id],
                        )], order=[('name', 'ASC')]),
            [unions["City B"], unions["County"], unions["Grassroots"]])
        before = positions(unions)
        Party._rebuild_tree('union_parent', None, 0)
        after = positions(unions)

        def nesting(tree):
            return {(a, b) for a in tree for b in tree
                if tree[a][0] < tree[b][0] and tree[b][1] < tree[a][1]}
        self.assertEqual(nesting(before), nesting(after))

    @with_transaction()
    def test_union_totals(self):
        "Grassroots unions and members roll up"
        Party = Pool().get('party.party')
        unions = create_unions([
                ("Province", 'province', None),
                ("City", 'city', "Province"),
                ("Grassroots 1", 'grassroots', "City"),
                ("Grassroots 2", 'grassroots', "City"),
                ])
        province, city = Party.browse(
            [unions["Province"].id, unions["City"].id])
        self.assertEqual(province.union_grassroots_total, 2)
        self.assertEqual(province.union_members_total, 40)
        self.assertEqual(city.union_members_total, 30)

    @with_transaction()
    def test_becoming_a_union(self):
        "A party that becomes a union enters the tree, and leaves it"
        Party = Pool().get('party.party')
        unions = create_unions([("Province", 'province', None)])
        party, = Party.create([{'name': "Factory"}])
        Subdivision = Pool().get('country.subdivision')
        area, = Subdivision.search([('code', '=', 'CN-SN')])
        Party.write([party], {
                'union_level': 'grassroots',
                'union_parent': unions["Province"].id,
                'union_area': area.id})
        self.assertIn(party, Party.search([('union_parent', 'child_of',
                        [unions["Province"].id])]))
        Party.write([party], {'union_level': None, 'union_parent': None})
        self.assertEqual(positions({'p': party}), {"Factory": (None, None)})

    @with_transaction()
    def test_compliance_rollup(self):
        "Spending rolls up the tree; status follows the rules"
        pool = Pool()
        Compliance = pool.get('relief.union.compliance')
        Plan = pool.get('relief.union.plan')
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company):
            unions = create_unions([
                    ("Province", 'province', None),
                    ("City", 'city', "Province"),
                    ("Grassroots 1", 'grassroots', "City"),
                    ("Grassroots 2", 'grassroots', "City"),
                    ("Grassroots 3", 'grassroots', "Province"),
                    ])
            member, = Party.create([{'name': "Member",
                        'member_union': unions["Grassroots 2"].id,
                        'member_number': 'M1',
                        'addresses': [('create', [{}])]}])
            Plan.create([{
                        'union': unions[n].id, 'year': 2024,
                        'workers': Decimal(workers),
                        'gift_total': Decimal(gift),
                        'gift_standard': Decimal(1000),
                        } for n, workers, gift in [
                        ("City", '0.001', '1.5'),
                        ("Grassroots 1", '0.0005', 1),
                        ("Grassroots 2", '0.0005', 1),
                        ("Grassroots 3", '0.0005', 1)]])
            for party, amount, state in [
                    (unions["Grassroots 1"], 4000, 'confirmed'),
                    (unions["Grassroots 2"], 1000, 'done'),
                    (member, 500, 'processing'),
                    (unions["Grassroots 2"], 9000, 'cancelled'),
                    (unions["City"], 100, 'confirmed'),
                    ]:
                spent_sale(party, amount, state, dt.date(2024, 5, 1))
            spent_sale(unions["Grassroots 1"], 7000, 'confirmed',
                dt.date(2023, 5, 1))
            with Transaction().set_context(year=2024):
                rows = {r.union.name: r for r in Compliance.search([])}
                Report = pool.get('relief.union.compliance.xlsx',
                    type='report')
                oext, content, _, _ = Report.execute(
                    [rows["Grassroots 2"].id, rows["City"].id], {})
        self.assertEqual(oext, 'xlsx')
        sheet = load_workbook(BytesIO(content)).active
        self.assertEqual(sheet['A1'].value, "2024 年度工会消费帮扶合规情况")
        self.assertEqual(
            [[c.value for c in row][:3] + [row[6].value, row[7].value]
                for row in sheet.iter_rows(min_row=3)], [
                ["Grassroots 2", "Grassroots Union", "City", 1500, 15],
                ["City", "City Federation", "Province", 5600, 37.33],
                ])
        self.assertEqual(
            {n: (r.spending_own, r.spending) for n, r in rows.items()}, {
                "Province": (0, 5600),
                "City": (100, 5600),
                "Grassroots 1": (4000, 4000),
                "Grassroots 2": (1500, 1500),
                "Grassroots 3": (0, 0),
                })
        self.assertEqual(
            {n: r.status for n, r in rows.items()}, {
                "Province": 'missing',
                "City": 'compliant',
                "Grassroots 1": 'compliant',
                "Grassroots 2": 'not_compliant',
                "Grassroots 3": 'not_compliant',
                })
        self.assertEqual(rows["Grassroots 2"].relief_share, Decimal('15'))
        self.assertEqual(rows["City"].gift_per_member, Decimal(1500))
        self.assertEqual(rows["City"].relief_share, Decimal('37.33'))
        self.assertIn("15", rows["Grassroots 2"].reasons)

    @with_transaction()
    def test_spending_totals(self):
        "The running totals follow the sales and match a rebuild"
        pool = Pool()
        Spending = pool.get('relief.union.spending')
        Sale = pool.get('sale.sale')
        Line = pool.get('sale.line')
        company = create_company()
        with set_company(company):
            unions = create_unions([
                    ("Province", 'province', None),
                    ("Grassroots", 'grassroots', "Province"),
                    ])
            union = unions["Grassroots"]
            sales = [spent_sale(union, amount, 'confirmed', date)
                for amount, date in [
                    (4000, dt.date(2024, 5, 1)),
                    (1000, dt.date(2024, 6, 1)),
                    (-300, dt.date(2024, 7, 1)),
                    (700, dt.date(2023, 5, 1))]]

            def totals():
                return {(s.union.name, s.year): s.amount
                    for s in Spending.search([])}
            self.assertEqual(totals(), {
                    ("Grassroots", 2024): 4700, ("Grassroots", 2023): 700})
            # Half of the goods cancelled, then the sale processed
            Line.write(list(sales[0].lines), {'actual_quantity': 0.5})
            Sale.write([sales[0]], {'state': 'processing'})
            self.assertEqual(totals()["Grassroots", 2024], 2700)
            # Back to draft: out of the spending
            Sale.write([sales[1]], {'state': 'draft'})
            self.assertEqual(totals()["Grassroots", 2024], 1700)
            kept = totals()
            Spending.rebuild()
            self.assertEqual(totals(), kept)

    @with_transaction()
    def test_gift_pack_share(self):
        "A gift pack's relief share values components in the price's unit"
        pool = Pool()
        Line = pool.get('sale.line')
        ModelData = pool.get('ir.model.data')
        Template = pool.get('product.template')
        Uom = pool.get('product.uom')
        unit, kilogram, gram = Uom.browse([
                ModelData.get_id('product', n)
                for n in ['uom_unit', 'uom_kilogram', 'uom_gram']])

        def product(name, price, uom, relief=False, type='goods'):
            template, = Template.create([{
                        'name': name, 'type': type, 'relief': relief,
                        'default_uom': uom.id, 'list_price': price,
                        'products': [('create', [{}])]}])
            return template.products[0]
        with set_company(create_company()):
            # 500 g of walnuts at 100 CNY/kg are worth 50 CNY, as the tea set
            walnut = product("Walnuts", Decimal(100), kilogram, relief=True)
            tea_set = product("Tea Set", Decimal(50), unit)
            pack = product("Gift Pack", Decimal(120), unit, type='kit')
            pool.get('product.component').create([
                    {'parent_template': pack.template.id, 'product': walnut.id,
                        'quantity': 500, 'unit': gram.id},
                    {'parent_template': pack.template.id, 'product': tea_set.id,
                        'quantity': 1, 'unit': unit.id}])
            pack = pack.__class__(pack.id)
            self.assertEqual(Line._relief_share(pack), Decimal('0.5'))

    @with_transaction()
    def test_accountant_read_only(self):
        "A union accountant may change no model these modules touch"
        pool = Pool()
        ModelAccess = pool.get('ir.model.access')
        ModelData = pool.get('ir.model.data')
        User = pool.get('res.user')
        groups = tuple(ModelData.get_id('relief', g) for g in [
                'group_relief', 'group_relief_union_accountant'])
        models = sorted(name for name, Model in pool.iterobject()
            if issubclass(Model, ModelStorage)
            and any(isregisteredby(Model, m)
                for m in ['relief_union', 'relief_certification']))
        ModelAccess._get_access_cache.clear()
        with patch.object(User, 'get_groups',
                classmethod(lambda cls: groups)):
            access = ModelAccess.get_access(models)
        ModelAccess._get_access_cache.clear()
        self.assertIn('party.address', models)
        self.assertEqual({m: p for m, p in access.items()
                if p['write'] or p['create'] or p['delete']}, {})
        self.assertTrue(access['relief.union.plan']['read'])

    @with_transaction()
    def test_accountant_rules_read_only(self):
        "The accountant's record rules grant reading only"
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        RuleGroup = pool.get('ir.rule.group')
        accountant = ModelData.get_id(
            'relief', 'group_relief_union_accountant')
        rule_groups = RuleGroup.search([('groups', '=', accountant)])
        self.assertEqual(
            {g.model: (g.perm_read, g.perm_write, g.perm_create,
                    g.perm_delete) for g in rule_groups},
            {m: (True, False, False, False) for m in [
                    'party.party', 'relief.union.plan',
                    'relief.union.spending', 'relief.union.compliance',
                    'sale.sale', 'account.invoice',
                    'account.invoice.line']})


def spent_sale(party, amount, state, date):
    "Create a sale of party with relief_amount in state, as quoted would"
    pool = Pool()
    Sale = pool.get('sale.sale')
    sale, = Sale.create([{
                'party': party.id,
                'invoice_address': party.addresses[0].id,
                'sale_date': date,
                'lines': [('create', [{
                                'description': "Gift",
                                'quantity': 1,
                                'unit_price': Decimal(amount),
                                }])],
                }])
    union = party if party.union_level else party.member_union
    Sale.write([sale], {'state': state, 'relief_union': union.id})
    pool.get('sale.line').write(list(sale.lines), {
            'relief_amount': Decimal(amount)})
    return sale


del ModuleTestCase
