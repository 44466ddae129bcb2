# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""附件2: the recommended suppliers of the poor counties (陕工发〔2020〕1号)"""
import re
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.modules.relief.excel import (
    Column, Layout, format_quantity, notify, queue_rows, quote, raise_errors,
    read_workbook, suggest, update_record, write_workbook)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

TITLE = "贫困县重点扶贫产品供应商推荐名录"
UNIT, PREPARER, PHONE = "推荐单位（盖章）：", "填报人：", "联系方式："
LAYOUT = Layout(
    title=TITLE,
    columns=[
        Column('sequence', "序号", type='integer', minimum=1),
        Column('county', "贫困县", required=True),
        Column('supplier', "供应商/销售商", required=True, key=True,
            size=100),
        Column('product', "商品名称", required=True, key=True, size=100),
        # capacity is Numeric(16, 2)
        Column('output', "扶贫产品产量", type='quantity', minimum=0,
            digits=2),
        Column('poor_people', "带贫人数", type='integer', minimum=0,
            required=True),
        Column('contact', "供应商/销售商联系人", size=50),
        Column('phone', "联系方式", type='phone', size=100),
        ],
    header_lines=[UNIT],
    footer_lines=[PREPARER, PHONE])
COUNTY_SUFFIXES = '县区市'
# The units written in the form: the unit of measure of each (module.id)
UNITS = {
    '吨': 'relief_certification.uom_ton',
    't': 'relief_certification.uom_ton',
    '公斤': 'product.uom_kilogram',
    '千克': 'product.uom_kilogram',
    'kg': 'product.uom_kilogram',
    '斤': 'relief_certification.uom_jin',
    '克': 'product.uom_gram',
    'g': 'product.uom_gram',
    '箱': 'relief_certification.uom_box',
    '盒': 'relief_certification.uom_case',
    '袋': 'relief_certification.uom_bag',
    '瓶': 'relief_certification.uom_bottle',
    '个': 'product.uom_unit',
    '件': 'product.uom_unit',
    '只': 'product.uom_unit',
    }
# The unit each unit of measure is written with in an export
UNIT_NAMES = {
    'relief_certification.uom_ton': '吨',
    'product.uom_kilogram': '公斤',
    'relief_certification.uom_jin': '斤',
    'product.uom_gram': '克',
    'relief_certification.uom_box': '箱',
    'relief_certification.uom_case': '盒',
    'relief_certification.uom_bag': '袋',
    'relief_certification.uom_bottle': '瓶',
    'product.uom_unit': '个',
    }
# "[code] name", the rec_name of a product with a code as exported
CODE_NAME = re.compile(r'^\[([^\]]{1,50})\]\s*(.+)$')


def _uom(xml_id):
    "Return the id of the unit of measure module.id"
    ModelData = Pool().get('ir.model.data')
    return ModelData.get_id(*xml_id.split('.'))


def find_units(units):
    "Return the unit of measure of each unit written in a form"
    Uom = Pool().get('product.uom')
    result = {}
    for unit in units:
        if unit.lower() in UNITS:
            result[unit] = Uom(_uom(UNITS[unit.lower()]))
            continue
        found = Uom.search(['OR',
                ('symbol', '=', unit),
                ('name', '=', unit),
                ], limit=1)
        if found:
            result[unit], = found
    return result


def unit_name(uom):
    "Return the unit a unit of measure is written with in a form"
    if not uom:
        return None
    for xml_id, name in UNIT_NAMES.items():
        if uom.id == _uom(xml_id):
            return name
    return uom.symbol


def _find_or_create(Model, names, domain=None, values=None):
    "Return the records of Model by name, creating the missing ones"
    records = {}
    for record in Model.search(
            [('name', 'in', list(names))] + (domain or []),
            order=[('id', 'ASC')]):
        records.setdefault(record.name, record)
    missing = [n for n in names if n not in records]
    records.update((r.name, r) for r in Model.create(
            [dict(values or {}, name=n) for n in missing]))
    return records, len(missing)


def county_names():
    "Return the names of the counties, to suggest one for a typo"
    Subdivision = Pool().get('country.subdivision')
    return [c.name for c in Subdivision.search(
            [('relief_level', '=', 'county')])]


def _find_coded(Template, names):
    """Return the poverty-relief product of each name written "[code] name"
    (as exported) whose code and name are those of a product"""
    codes = {}
    for name in names:
        match = CODE_NAME.match(name)
        if match:
            codes[name] = match.groups()
    result = {}
    if codes:
        templates = {(t.code, t.name): t for t in Template.search([
                    ('code', 'in', [c for c, _ in codes.values()]),
                    ('relief', '=', True),
                    ])}
        for name, key in codes.items():
            if key in templates:
                result[name] = templates[key]
    return result


def find_counties(names):
    "Return the county of each name, also found without its suffix"
    # A function, not a country.subdivision method: extending Subdivision
    # here would run relief's __register__ again for this module.
    Subdivision = Pool().get('country.subdivision')
    counties = Subdivision.search([
            ('relief_level', '=', 'county'),
            ('name', 'in', list(set(names) | {
                        n + s for n in names for s in COUNTY_SUFFIXES})),
            ])
    result = {}
    for name in names:
        found = [c for c in counties if c.name == name] or [
            c for c in counties
            if c.name[:-1] == name and c.name[-1] in COUNTY_SUFFIXES]
        if len(found) == 1:
            result[name] = found[0]
    return result


class SupplierCertification(metaclass=PoolMeta):
    __name__ = 'relief.supplier.certification'

    @classmethod
    def read_recommendation(cls, data, filename=None):
        """Return the rows of a filled 附件2 with their county and output
        unit or raise reporting every error at once"""
        errors = []
        rows = read_workbook(data, LAYOUT, filename=filename, errors=errors)
        counties = find_counties(
            {r['county'] for r in rows if r.get('county')})
        units = find_units({
                r['output'][1] for r in rows if r.get('output')
                and r['output'][1]})
        names = None
        for row in rows:
            county = row.get('county')
            if county and county not in counties:
                if names is None:
                    names = county_names()
                errors.append((
                        'relief_certification.'
                        'msg_recommendation_county_unknown', {
                            'row': row['_row'], 'column': "贫困县",
                            'value': quote(county),
                            'hint': suggest(county, names),
                            }))
            output = row.get('output')
            if output and output[1] and output[1] not in units:
                errors.append((
                        'relief_certification.'
                        'msg_recommendation_unit_unknown', {
                            'row': row['_row'], 'column': "扶贫产品产量",
                            'value': quote(output[1]),
                            'units': '、'.join(UNITS),
                            }))
        errors.sort(key=lambda e: e[1].get('row', 0))
        raise_errors(errors, filename)
        for row in rows:
            row['county'] = counties[row['county']]
            output = row.get('output')
            if output:
                row['output'], row['output_uom'] = (
                    output[0], units.get(output[1]))
        return rows

    @classmethod
    def import_recommendation(cls, rows, office, valid_from, valid_to):
        """Create or update the draft certifications of the rows of 附件2
        and return how many records were created and updated"""
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Party = pool.get('party.party')
        Template = pool.get('product.template')
        ProductCertification = pool.get('relief.product.certification')
        counts = {}
        suppliers, counts['suppliers'] = _find_or_create(
            Party, dict.fromkeys(r['supplier'] for r in rows))
        coded = _find_coded(Template, [r['product'] for r in rows])
        templates, counts['products'] = _find_or_create(
            Template, dict.fromkeys(
                r['product'] for r in rows if r['product'] not in coded),
            domain=[('relief', '=', True)], values={
                'relief': True,
                'type': 'goods',
                'default_uom': ModelData.get_id('product', 'uom_unit'),
                'list_price': Decimal(0),
                })
        templates.update(coded)
        for row in rows:
            row['supplier'] = suppliers[row['supplier']]
            row['product'] = templates[row['product']]
        certifications, created, updated = cls._import_recommendation(
            rows, office, valid_from, valid_to)
        counts['certifications_created'] = len(created)
        counts['certifications_updated'] = len(updated)
        created, updated = ProductCertification.import_recommendation(
            rows, certifications, valid_from, valid_to)
        counts['product_certifications_created'] = len(created)
        counts['product_certifications_updated'] = len(updated)
        return counts

    @classmethod
    def _import_recommendation(cls, rows, office, valid_from, valid_to):
        """Return the certification of each supplier of rows from office
        and those created and updated"""
        certifications = {}
        for certification in cls.search([
                    ('supplier', 'in', [r['supplier'].id for r in rows]),
                    ('office', '=', office),
                    ('state', 'in', ['draft', 'certified']),
                    ]):
            # A draft is a renewal in progress: it is the one to update
            if (certification.state == 'draft'
                    or certification.supplier not in certifications):
                certifications[certification.supplier] = certification
        firsts = {}
        for row in rows:
            # 带贫人数 and the contact are the supplier's, on each product row
            firsts.setdefault(row['supplier'], row)
        created, updated = [], []
        for supplier, row in firsts.items():
            values = {
                k: row.get(k) for k in ['poor_people', 'contact', 'phone']}
            certification = certifications.get(supplier)
            if not certification:
                certifications[supplier] = certification = cls(
                    supplier=supplier, office=office, county=row['county'],
                    valid_from=valid_from, valid_to=valid_to, **values)
                created.append(certification)
            elif (certification.state == 'draft'
                    and update_record(certification, **values)):
                updated.append(certification)
        cls.save(created + updated)
        return certifications, created, updated

    @classmethod
    def recommendation_rows(cls, date, county=None):
        "Return the rows of 附件2 for the certified suppliers of county"
        ProductCertification = Pool().get('relief.product.certification')
        domain = [
            ('state', '=', 'certified'),
            ('valid_from', '<=', date),
            ('valid_to', '>=', date),
            ]
        certifications = {c.supplier: c for c in cls.search(domain + (
                    [('county', '=', county.id)] if county else []))}
        rows = []
        for product in ProductCertification.search(domain + [
                    ('supplier', 'in', [s.id for s in certifications]),
                    ]):
            certification = certifications[product.supplier]
            rows.append({
                    'county': certification.county.name,
                    'supplier': product.supplier.rec_name,
                    # "[code] name": the import finds the product by code
                    'product': product.template.rec_name,
                    'output': format_quantity(
                        product.capacity, unit_name(product.capacity_uom)),
                    'poor_people': certification.poor_people,
                    'contact': certification.contact,
                    'phone': certification.phone,
                    })
        rows.sort(key=lambda r: (r['county'], r['supplier'], r['product']))
        return rows


class ProductCertification(metaclass=PoolMeta):
    __name__ = 'relief.product.certification'

    @classmethod
    def import_recommendation(
            cls, rows, certifications, valid_from, valid_to):
        """Create or update the draft certification of each product of rows
        and return those created and updated"""
        existing = {(c.template, c.supplier): c for c in cls.search([
                    ('template', 'in', [r['product'].id for r in rows]),
                    ('supplier', 'in', [r['supplier'].id for r in rows]),
                    ('state', 'in', ['draft', 'certified']),
                    ])}
        created, updated = [], []
        for row in rows:
            template, supplier = row['product'], row['supplier']
            output = row.get('output')
            values = {
                'capacity': output,
                'capacity_uom': (
                    (row.get('output_uom') or template.default_uom)
                    if output else None),
                }
            certification = existing.get((template, supplier))
            if not certification:
                created.append(cls(
                        template=template, supplier=supplier,
                        supplier_certification=certifications[supplier],
                        valid_from=valid_from, valid_to=valid_to, **values))
            elif (certification.state == 'draft'
                    and update_record(certification, **values)):
                updated.append(certification)
        cls.save(created + updated)
        return created, updated


class RecommendationExport(Wizard):
    "Export the Recommended Suppliers (附件2)"
    __name__ = 'relief.recommendation.export'

    start = StateView(
        'relief.recommendation.export.start',
        'relief_certification.recommendation_export_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Export", 'export', 'tryton-ok', default=True),
            ])
    export = StateTransition()
    result = StateView(
        'relief.recommendation.export.result',
        'relief_certification.recommendation_export_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_export(self):
        pool = Pool()
        Certification = pool.get('relief.supplier.certification')
        Date = pool.get('ir.date')
        rows = Certification.recommendation_rows(
            Date.today(), self.start.county)
        self.result.file = write_workbook(
            LAYOUT, rows,
            header_lines=[UNIT + self.start.unit],
            footer_lines=[
                PREPARER + (self.start.preparer or ''),
                PHONE + (self.start.phone or '')])
        return 'result'

    def default_result(self, fields):
        file = self.result.file
        self.result.file = None  # No need to store it in the session
        name = '-'.join(filter(None, [
                    TITLE, self.start.county and self.start.county.name]))
        return {
            'file': file,
            'filename': name + '.xlsx',
            }


class RecommendationExportStart(ModelView):
    "Export the Recommended Suppliers (附件2)"
    __name__ = 'relief.recommendation.export.start'

    county = fields.Many2One(
        'country.subdivision', "County",
        domain=[('relief_level', '=', 'county')],
        help="Leave empty to export every county.")
    unit = fields.Char(
        "Recommending Unit", required=True,
        help="推荐单位: the union that recommends the suppliers.")
    preparer = fields.Char("Prepared By", help="填报人")
    phone = fields.Char("Phone")

    @classmethod
    def default_unit(cls):
        Company = Pool().get('company.company')
        company = Transaction().context.get('company')
        if company is not None and company >= 0:
            return Company(company).rec_name


class RecommendationExportResult(ModelView):
    "Export the Recommended Suppliers (附件2)"
    __name__ = 'relief.recommendation.export.result'

    file = fields.Binary("File", readonly=True, filename='filename')
    filename = fields.Char("File Name", readonly=True)


class RecommendationImport(Wizard):
    "Import Recommended Suppliers (附件2)"
    __name__ = 'relief.recommendation.import'

    start = StateView(
        'relief.recommendation.import.start',
        'relief_certification.recommendation_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()
    result = StateView(
        'relief.recommendation.import.result',
        'relief_certification.recommendation_import_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_import_(self):
        pool = Pool()
        Certification = pool.get('relief.supplier.certification')
        User = pool.get('res.user')
        # Checked at once: the user sees the errors of any file now
        rows = Certification.read_recommendation(
            self.start.file, filename=self.start.filename)
        if len(rows) > queue_rows():
            # The worker imports it again and notifies the user
            User.__queue__.relief_import_recommendation(
                [Transaction().user], bytes(self.start.file),
                self.start.filename, self.start.office,
                self.start.valid_from, self.start.valid_to)
            self.result.queued = len(rows)
            return 'result'
        counts = Certification.import_recommendation(
            rows, self.start.office, self.start.valid_from,
            self.start.valid_to)
        for name, count in counts.items():
            setattr(self.result, name, count)
        return 'result'

    def default_result(self, fields):
        return {f: getattr(self.result, f, 0) for f in fields}


class RecommendationImportStart(ModelView):
    "Import Recommended Suppliers (附件2)"
    __name__ = 'relief.recommendation.import.start'

    valid_from = fields.Date(
        "Valid From", required=True,
        domain=[If(Eval('valid_to'), ('valid_from', '<=', Eval('valid_to')),
                ())])
    valid_to = fields.Date(
        "Valid To", required=True,
        domain=[If(Eval('valid_from'), ('valid_to', '>=', Eval('valid_from')),
                ())])

    file = fields.Binary("File", required=True, filename='filename')
    filename = fields.Char("File Name")
    office = fields.Char(
        "Issuing Office", required=True,
        help="The poverty alleviation office that will certify the "
        "suppliers, for example 周至县扶贫开发办公室.")

    @classmethod
    def default_valid_from(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_valid_to(cls):
        today = Pool().get('ir.date').today()
        try:
            return today.replace(year=today.year + 2)
        except ValueError:
            # 29 February
            return today.replace(year=today.year + 2, day=28)


class RecommendationImportResult(ModelView):
    "Import Recommended Suppliers (附件2)"
    __name__ = 'relief.recommendation.import.result'

    queued = fields.Integer(
        "Rows Imported in the Background", readonly=True,
        help="A large form is imported in the background; a notification "
        "tells when it is done or why it failed.")
    suppliers = fields.Integer("Suppliers Created", readonly=True)
    products = fields.Integer("Products Created", readonly=True)
    certifications_created = fields.Integer(
        "Supplier Certifications Created", readonly=True)
    certifications_updated = fields.Integer(
        "Supplier Certifications Updated", readonly=True)
    product_certifications_created = fields.Integer(
        "Product Certifications Created", readonly=True)
    product_certifications_updated = fields.Integer(
        "Product Certifications Updated", readonly=True)


class User(metaclass=PoolMeta):
    __name__ = 'res.user'

    @classmethod
    def relief_import_recommendation(
            cls, users, data, filename, office, valid_from, valid_to):
        """Import a 附件2 in the queue and notify the user who asked of its
        end or failure"""
        Certification = Pool().get('relief.supplier.certification')
        user, = users
        try:
            rows = Certification.read_recommendation(data, filename=filename)
            counts = Certification.import_recommendation(
                rows, office, valid_from, valid_to)
        except UserError as error:
            # Nothing of the import is kept, only the notification
            Transaction().rollback()
            notify(user, gettext(
                    'relief_certification.msg_recommendation_import_failed',
                    filename=quote(filename)), error.message, 'tryton-error')
        else:
            notify(user, gettext(
                    'relief_certification.msg_recommendation_import_done',
                    filename=quote(filename), **counts))
