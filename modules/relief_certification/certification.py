# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import Null
from sql.aggregate import Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Round
from sql.operators import Equal, Sub

from trytond.i18n import gettext
from trytond.model import (
    Check, Exclude, Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.sql.functions import DateRange
from trytond.sql.operators import RangeOverlap
from trytond.transaction import Transaction

from .exceptions import (
    CertificationAccessError, CertificationError, PurchaseCapError)

# Certificates in these states hold a period: they may not overlap.
HOLDING = ['certified', 'suspended', 'expired']


class _CertificateMixin:
    """Validity dates and the rules shared by certificates.

    The checks are in Python, not in field domains or SQL CHECKs, so that a
    user gets the same named message on every backend (SQLite has no CHECK
    constraints in Tryton) and the message names the certificate."""
    __slots__ = ()
    valid_from = fields.Date("Valid From", required=True)
    valid_to = fields.Date("Valid To", required=True)

    # Fields that may still change once the certificate left draft.
    _editable_fields = {'state'}
    # Fields that only the workflow's transitions change, not a user's write
    _workflow_fields = {'state'}

    def valid_on(self, date):
        return self.valid_from <= date <= self.valid_to

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        cls.check_dates(records, field_names)

    @classmethod
    def check_dates(cls, records, field_names=None):
        if field_names and not (field_names & {'valid_from', 'valid_to'}):
            return
        for record in records:
            if record.valid_to < record.valid_from:
                raise CertificationError(gettext(
                        'relief_certification.msg_certificate_dates',
                        certification=record.rec_name,
                        valid_from=record.valid_from,
                        valid_to=record.valid_to))

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if external:
            cls.check_workflow_fields(mode, records, values)
        if mode == 'delete':
            for record in records:
                if record.state != 'draft':
                    raise CertificationAccessError(gettext(
                            'relief_certification.msg_certificate_delete_draft',
                            certification=record.rec_name))
        elif mode == 'write':
            # A certificate is a fact recorded from a paper: once certified
            # it is suspended, revoked or replaced, never edited.
            changed = set(values) - cls._editable_fields
            if not changed:
                return
            for record in records:
                if record.state != 'draft':
                    raise CertificationAccessError(gettext(
                            'relief_certification.msg_certificate_modify',
                            certification=record.rec_name,
                            field=cls.__names__(sorted(changed)[0])['field']))

    @classmethod
    def check_workflow_fields(cls, mode, records, values=None):
        """Refuse a user's write of the workflow fields and a creation in
        another state than draft: only the buttons change them (they run
        without access checks, so their writes are not a user's)"""
        if mode == 'write' and records and (
                values.keys() & cls._workflow_fields):
            field = sorted(values.keys() & cls._workflow_fields)[0]
            raise CertificationAccessError(gettext(
                    'relief_certification.msg_certificate_workflow_write',
                    certification=records[0].rec_name,
                    field=cls.__names__(field)['field']))
        elif mode == 'create':
            for record in records:
                if record.state != cls.default_state():
                    raise CertificationAccessError(gettext(
                            'relief_certification'
                            '.msg_certificate_workflow_create',
                            certification=record.rec_name))


class SupplierCertification(_CertificateMixin, Workflow, ModelSQL, ModelView):
    "Supplier Certification"
    __name__ = 'relief.supplier.certification'
    _history = True
    _rec_name = 'number'

    _states = {'readonly': Eval('state') != 'draft'}

    supplier = fields.Many2One(
        'party.party', "Supplier", required=True, ondelete='RESTRICT',
        states=_states)
    credit_code = fields.Function(
        fields.Char("Unified Social Credit Code"), 'get_credit_code')
    county = fields.Many2One(
        'country.subdivision', "County", required=True, ondelete='RESTRICT',
        domain=[('relief_level', '=', 'county')], states=_states)
    office = fields.Char(
        "Issuing Office", required=True, states=_states,
        help="The poverty alleviation office that certified the supplier.")
    number = fields.Char(
        "Certificate Number", states={
            'readonly': _states['readonly'],
            'required': Eval('state') != 'draft',
            })
    poor_people = fields.Integer(
        "Poor People Lifted", required=True, states=_states,
        help="带贫人数: the poor people the supplier's business lifts.")
    capacity = fields.Numeric(
        "Production Capacity", digits=(16, 2),
        domain=[If(Eval('capacity'), ('capacity', '>=', 0), ())])
    capacity_uom = fields.Many2One(
        'product.uom', "Capacity Unit",
        states={'required': Bool(Eval('capacity'))})
    contact = fields.Char("Contact Person")
    phone = fields.Char("Phone")
    cap_amount = fields.Numeric(
        "Explicit Purchase Cap", digits=(16, 2),
        domain=[If(Eval('cap_amount'), ('cap_amount', '>=', 0), ())],
        help="Leave empty to use poor people × the amount per person "
        "of the rule in force in the county.")
    cap = fields.Function(
        fields.Numeric("Purchase Cap", digits=(16, 2)), 'get_cap_figures',
        searcher='search_cap_figures')
    consumed = fields.Function(
        fields.Numeric("Purchased", digits=(16, 2)), 'get_cap_figures',
        searcher='search_cap_figures')
    remaining = fields.Function(
        fields.Numeric("Remaining", digits=(16, 2)), 'get_cap_figures',
        searcher='search_cap_figures')
    products = fields.One2Many(
        'relief.product.certification', 'supplier_certification',
        "Products")
    expiring_in = fields.Function(
        fields.Integer("Expires in (days)"), 'get_expiring_in')
    comment = fields.Text("Comment")
    state = fields.Selection([
            ('draft', "Draft"),
            ('certified', "Certified"),
            ('suspended', "Suspended"),
            ('expired', "Expired"),
            ('revoked', "Revoked"),
            ], "State", readonly=True, required=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('number_office_unique', Unique(t, t.office, t.number),
                'relief_certification.msg_certificate_number_unique'),
            ('period_overlap', Exclude(t,
                    (t.supplier, Equal),
                    (DateRange(t.valid_from, t.valid_to, '[]'),
                        RangeOverlap),
                    # An inverted period is refused by its domain, not by
                    # PostgreSQL's range (a raw data error)
                    where=t.state.in_(HOLDING)
                    & ((t.valid_to == Null) | (t.valid_from <= t.valid_to))),
                'relief_certification.msg_certificate_period_overlap'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.supplier, Index.Range()),
                    (t.valid_from, Index.Range()),
                    (t.valid_to, Index.Range())),
                Index(t, (t.state, Index.Equality(cardinality='low')),
                    (t.valid_to, Index.Range())),
                })
        cls._order = [('valid_from', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'certified'),
            ('certified', 'suspended'),
            ('suspended', 'certified'),
            ('certified', 'expired'),
            ('suspended', 'expired'),
            ('certified', 'revoked'),
            ('suspended', 'revoked'),
            ('expired', 'revoked'),
            }
        cls._buttons.update({
                'certify': {
                    'invisible': ~Eval('state').in_(['draft', 'suspended']),
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'suspend': {
                    'invisible': Eval('state') != 'certified',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'revoke': {
                    'invisible': ~Eval('state').in_(
                        ['certified', 'suspended', 'expired']),
                    'icon': 'tryton-delete',
                    'depends': ['state'],
                    },
                })

    _editable_fields = _CertificateMixin._editable_fields | {
        'capacity', 'capacity_uom', 'contact', 'phone', 'cap_amount',
        'comment'}

    @classmethod
    def validate_fields(cls, certifications, field_names):
        super().validate_fields(certifications, field_names)
        cls.check_poor_people(certifications, field_names)

    @classmethod
    def check_poor_people(cls, certifications, field_names=None):
        if field_names and 'poor_people' not in field_names:
            return
        for certification in certifications:
            if certification.poor_people < 0:
                raise CertificationError(gettext(
                        'relief_certification.msg_certificate_poor_people',
                        certification=certification.rec_name,
                        poor_people=certification.poor_people))

    @classmethod
    def default_state(cls):
        return 'draft'

    def get_rec_name(self, name):
        return '%s (%s)' % (self.number or '—', self.supplier.rec_name)

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        bool_op = 'AND' if operator.startswith('!') or operator.startswith(
            'not ') else 'OR'
        return [bool_op,
            ('number', operator, operand, *extra),
            ('supplier.rec_name', operator, operand, *extra),
            ]

    def get_credit_code(self, name):
        for identifier in self.supplier.identifiers:
            # Tryton files the unified social credit code (stdnum's cn.uscc)
            # under the VAT name of the country.
            if identifier.type == 'cn_vat':
                return identifier.code

    def get_expiring_in(self, name):
        Date = Pool().get('ir.date')
        if self.state in {'certified', 'suspended'}:
            return (self.valid_to - Date.today()).days

    @classmethod
    def get_cap_figures(cls, certifications, names):
        "Cap, purchased and remaining in the period containing the date"
        pool = Pool()
        Purchase = pool.get('purchase.purchase')
        Date = pool.get('ir.date')
        date = Transaction().context.get('date') or Date.today()
        caps = cls.get_caps(certifications, date)
        start, end = cls.cap_period(date)
        consumed = Purchase.relief_consumed(
            {c.supplier for c in certifications}, start, end)
        result = {n: {} for n in names}
        for certification in certifications:
            cap = caps[certification.id]
            used = consumed.get(certification.supplier.id, Decimal(0))
            values = {
                'cap': cap,
                'consumed': used,
                'remaining': cap - used if cap is not None else None,
                }
            for name in names:
                result[name][certification.id] = values[name]
        return result

    @classmethod
    def get_caps(cls, certifications, date):
        "Return the purchase cap of each certification for date's period"
        pool = Pool()
        Rule = pool.get('relief.rule')
        per_person = Rule.get_values(
            'purchase_cap_per_person', {c.county for c in certifications},
            date)
        caps = {}
        for certification in certifications:
            if certification.cap_amount is not None:
                caps[certification.id] = certification.cap_amount
            elif per_person.get(certification.county.id) is not None:
                caps[certification.id] = (
                    per_person[certification.county.id]
                    * certification.poor_people).quantize(Decimal('0.01'))
            else:
                caps[certification.id] = None
        return caps

    @classmethod
    def cap_period(cls, date):
        "Return the first and last day of the cap period containing date"
        pool = Pool()
        Configuration = pool.get('relief.configuration')
        period = Configuration.get_purchase_cap_period()
        if period == 'month':
            start = date.replace(day=1)
            end = (start + dt.timedelta(days=32)).replace(day=1)
        elif period == 'quarter':
            start = date.replace(month=(date.month - 1) // 3 * 3 + 1, day=1)
            end = (start + dt.timedelta(days=93)).replace(day=1)
        else:
            start = date.replace(month=1, day=1)
            end = start.replace(year=start.year + 1)
        return start, end - dt.timedelta(days=1)

    @classmethod
    def _cap_figure_columns(cls, table):
        """Return the SQL expressions of cap, consumed and remaining of the
        certifications of table, for the period of the context's date.

        The same figures as get_cap_figures, for searching and sorting: the
        amount per person of each county (rules walk up the county tree) is
        computed first, a CASE over the few hundred counties."""
        pool = Pool()
        Rule = pool.get('relief.rule')
        Subdivision = pool.get('country.subdivision')
        Purchase = pool.get('purchase.purchase')
        Consumption = pool.get('relief.purchase.consumption')
        Date = pool.get('ir.date')
        date = Transaction().context.get('date') or Date.today()
        start, end = cls.cap_period(date)
        with Transaction().set_context(active_test=False):
            counties = Subdivision.search([('relief_level', '=', 'county')])
        per_person = {c: v for c, v in Rule.get_values(
                'purchase_cap_per_person', counties, date).items()
            if v is not None}
        per_county = Case(
            *((table.county == c, v) for c, v in per_person.items()),
            else_=Null) if per_person else Null
        # Rounded as get_caps does
        cap = Coalesce(
            table.cap_amount, Round(table.poor_people * per_county, 2))
        consumption = Consumption.__table__()
        confirmed = consumption.select(
            Coalesce(Sum(consumption.amount), 0),
            where=(consumption.supplier == table.supplier)
            & (consumption.month >= start) & (consumption.month <= end))
        ignored = Purchase._relief_ignored_query(table.supplier, start, end)
        # Sub, not "-": between two queries, python-sql's "-" is EXCEPT
        consumed = Sub(confirmed, ignored)
        return {
            'cap': cap,
            'consumed': consumed,
            'remaining': cap - consumed,
            }

    @classmethod
    def search_cap_figures(cls, name, clause):
        table = cls.__table__()
        _, operator, value = clause[:3]
        Operator = fields.SQL_OPERATORS[operator]
        # The Numeric field's SQL typing (SQLite stores decimals as text)
        field = cls._fields[name]._field
        column = field._domain_column(
            operator, cls._cap_figure_columns(table)[name])
        value = field._domain_value(operator, value)
        return [('id', 'in', table.select(
                    table.id, where=Operator(column, value)))]

    def _order_cap_figure(name):
        def order(cls, tables):
            table, _ = tables[None]
            return [cls._fields[name]._field._domain_column(
                    '=', cls._cap_figure_columns(table)[name])]
        return classmethod(order)

    order_cap = _order_cap_figure('cap')
    order_consumed = _order_cap_figure('consumed')
    order_remaining = _order_cap_figure('remaining')
    del _order_cap_figure

    def _check_cap(self, purchases):
        """Check that purchases fit in the cap of their period

        The purchases must be counted in the running totals already."""
        pool = Pool()
        Purchase = pool.get('purchase.purchase')
        Lang = pool.get('ir.lang')
        by_period = defaultdict(list)
        for purchase in purchases:
            by_period[self.cap_period(purchase._relief_date())].append(
                purchase)
        for (start, end), p_purchases in by_period.items():
            # The cap as shown on the certification on the purchase date
            date = max(p._relief_date() for p in p_purchases)
            cap = self.get_caps([self], date)[self.id]
            if cap is None:
                continue
            # The purchases are already added to the running totals, with
            # any other of the supplier confirmed at once (under another
            # certificate after a renewal): the total decides.
            total = Purchase.relief_consumed(
                [self.supplier], start, end).get(
                self.supplier.id, Decimal(0))
            amount = sum(p.untaxed_amount for p in p_purchases)
            consumed = total - amount
            if total > cap:
                lang = Lang.get()
                currency = p_purchases[0].currency

                def money(value):
                    return lang.currency(value, currency, grouping=True)
                raise PurchaseCapError(gettext(
                        'relief_certification.msg_purchase_cap_exceeded',
                        purchases=', '.join(p.rec_name for p in p_purchases),
                        supplier=self.supplier.rec_name,
                        certificate=self.number,
                        start=lang.strftime(start), end=lang.strftime(end),
                        cap=money(cap), consumed=money(consumed),
                        amount=money(amount), remaining=money(cap - consumed)))

    @classmethod
    def find_valid(cls, suppliers, date):
        "Return the certification of each supplier valid on date"
        certifications = cls.search([
                ('supplier', 'in', [s.id for s in suppliers]),
                ('state', '=', 'certified'),
                ('valid_from', '<=', date),
                ('valid_to', '>=', date),
                ])
        return {c.supplier.id: c for c in certifications}

    @classmethod
    @ModelView.button
    @Workflow.transition('certified')
    def certify(cls, certifications):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('suspended')
    def suspend(cls, certifications):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('revoked')
    def revoke(cls, certifications):
        pass

    @classmethod
    @Workflow.transition('expired')
    def expire(cls, certifications):
        pass

    @classmethod
    def expire_certifications(cls):
        "Mark as expired the certifications past their end (daily cron)"
        Date = Pool().get('ir.date')
        cls.expire(cls.search([
                    ('state', 'in', ['certified', 'suspended']),
                    ('valid_to', '<', Date.today()),
                    ]))

    @classmethod
    def copy(cls, certifications, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('number', None)
        default.setdefault('products', None)
        return super().copy(certifications, default=default)



class ProductCertification(_CertificateMixin, Workflow, ModelSQL, ModelView):
    "Product Certification"
    __name__ = 'relief.product.certification'
    _history = True

    _states = {'readonly': Eval('state') != 'draft'}

    template = fields.Many2One(
        'product.template', "Product", required=True, ondelete='RESTRICT',
        domain=[('relief', '=', True)], states=_states)
    supplier = fields.Many2One(
        'party.party', "Supplier", required=True, ondelete='RESTRICT',
        states=_states)
    supplier_certification = fields.Many2One(
        'relief.supplier.certification', "Supplier Certification",
        ondelete='RESTRICT',
        domain=[('supplier', '=', Eval('supplier', -1))], states=_states)
    catalogue_number = fields.Char(
        "National Catalogue Number", states={
            'readonly': _states['readonly'],
            'required': Eval('state') != 'draft',
            },
        help="The number in the national poverty-relief product catalogue "
        "(全国扶贫产品目录).")
    capacity = fields.Numeric(
        "Capacity", digits=(16, 2),
        domain=[If(Eval('capacity'), ('capacity', '>=', 0), ())])
    capacity_uom = fields.Many2One(
        'product.uom', "Capacity Unit",
        states={'required': Bool(Eval('capacity'))})
    state = fields.Selection([
            ('draft', "Draft"),
            ('certified', "Certified"),
            ('revoked', "Revoked"),
            ], "State", readonly=True, required=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('catalogue_number_unique', Unique(t, t.catalogue_number),
                'relief_certification.msg_catalogue_number_unique'),
            ('period_overlap', Exclude(t,
                    (t.template, Equal),
                    (t.supplier, Equal),
                    (DateRange(t.valid_from, t.valid_to, '[]'),
                        RangeOverlap),
                    where=(t.state == 'certified')
                    & ((t.valid_to == Null) | (t.valid_from <= t.valid_to))),
                'relief_certification.msg_product_period_overlap'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.template, Index.Range()), (t.supplier, Index.Range()),
                (t.valid_from, Index.Range())))
        cls._order = [('valid_from', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'certified'),
            ('certified', 'revoked'),
            }
        cls._buttons.update({
                'certify': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'revoke': {
                    'invisible': Eval('state') != 'certified',
                    'icon': 'tryton-delete',
                    'depends': ['state'],
                    },
                })

    _editable_fields = _CertificateMixin._editable_fields | {
        'capacity', 'capacity_uom'}

    @classmethod
    def default_state(cls):
        return 'draft'

    def get_rec_name(self, name):
        return '%s (%s)' % (
            self.template.rec_name, self.catalogue_number or '—')

    @fields.depends('supplier')
    def on_change_supplier(self):
        pool = Pool()
        SupplierCertification = pool.get('relief.supplier.certification')
        Date = pool.get('ir.date')
        self.supplier_certification = None
        if self.supplier:
            self.supplier_certification = SupplierCertification.find_valid(
                [self.supplier], Date.today()).get(self.supplier.id)

    @classmethod
    def find_valid(cls, pairs, date):
        "Return the certified (template, supplier) pairs among pairs on date"
        templates = {t for t, _ in pairs}
        suppliers = {s for _, s in pairs}
        certifications = cls.search([
                ('template', 'in', [t.id for t in templates]),
                ('supplier', 'in', [s.id for s in suppliers]),
                ('state', '=', 'certified'),
                ('valid_from', '<=', date),
                ('valid_to', '>=', date),
                ])
        return {(c.template.id, c.supplier.id): c for c in certifications}

    @classmethod
    @ModelView.button
    @Workflow.transition('certified')
    def certify(cls, certifications):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('revoked')
    def revoke(cls, certifications):
        pass

    @classmethod
    def copy(cls, certifications, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('catalogue_number', None)
        return super().copy(certifications, default=default)


class CatalogueEntry(Workflow, ModelSQL, ModelView):
    "Catalogue Entry"
    __name__ = 'relief.catalogue.entry'
    _history = True

    template = fields.Many2One(
        'product.template', "Product", required=True, ondelete='RESTRICT',
        domain=[('relief', '=', True)],
        states={'readonly': Eval('state') != 'draft'})
    listed = fields.Date(
        "Listed On", states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('state') != 'draft',
            })
    delisted = fields.Date(
        "Delisted On", readonly=True,
        states={'required': Eval('state') == 'delisted'})
    delist_reason = fields.Selection([
            (None, ""),
            ('quality', "Quality Problem"),
            ('food_safety', "Food Safety Incident"),
            ('expiry', "Certification Expired"),
            ('supplier_request', "Supplier Request"),
            ('other', "Other"),
            ], "Delisting Reason", sort=False,
        states={
            'readonly': Eval('state') == 'delisted',
            'invisible': Eval('state') == 'draft',
            })
    delist_note = fields.Text(
        "Delisting Note",
        states={
            'readonly': Eval('state') == 'delisted',
            'invisible': Eval('state') == 'draft',
            })
    state = fields.Selection([
            ('draft', "Draft"),
            ('listed', "Listed"),
            ('delisted', "Delisted"),
            ], "State", readonly=True, required=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            # A product has at most one listing open at a time.
            ('listed_unique', Exclude(t, (t.template, Equal),
                    where=t.state == 'listed'),
                'relief_certification.msg_catalogue_listed_unique'),
            ('dates', Check(t, (t.delisted == Null)
                    | (t.delisted >= t.listed)),
                'relief_certification.msg_catalogue_dates'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.template, Index.Range()),
                (t.listed, Index.Range())))
        cls._order = [('listed', 'DESC NULLS FIRST'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'listed'),
            ('listed', 'delisted'),
            }
        cls._buttons.update({
                'list_': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'delist': {
                    'invisible': Eval('state') != 'listed',
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    def get_rec_name(self, name):
        return self.template.rec_name

    @classmethod
    def listed_on(cls, templates, date):
        "Return the ids of the templates listed on date"
        entries = cls.search([
                ('template', 'in', [t.id for t in templates]),
                ('listed', '<=', date),
                ['OR',
                    ('delisted', '=', None),
                    ('delisted', '>', date),
                    ],
                ('state', 'in', ['listed', 'delisted']),
                ])
        return {e.template.id for e in entries}

    @classmethod
    @ModelView.button
    @Workflow.transition('listed')
    def list_(cls, entries):
        Date = Pool().get('ir.date')
        today = Date.today()
        cls.write([e for e in entries if not e.listed], {
                'listed': today,
                })
        cls.check_certified(entries)

    @classmethod
    def check_certified(cls, entries):
        "Refuse to list products without a certification in force then"
        ProductCertification = Pool().get('relief.product.certification')
        certifications = ProductCertification.search([
                ('template', 'in', [e.template.id for e in entries]),
                ('state', '=', 'certified'),
                ])
        for entry in entries:
            if not any(c.template == entry.template
                    and c.valid_on(entry.listed) for c in certifications):
                raise CertificationError(gettext(
                        'relief_certification.msg_catalogue_not_certified',
                        product=entry.template.rec_name, date=entry.listed))

    @classmethod
    @ModelView.button
    @Workflow.transition('delisted')
    def delist(cls, entries):
        # Effective at once: the day of delisting no longer counts as listed.
        pool = Pool()
        Date = pool.get('ir.date')
        for entry in entries:
            if not entry.delist_reason:
                raise CertificationError(gettext(
                        'relief_certification.msg_catalogue_delist_reason',
                        product=entry.template.rec_name))
        cls.write(entries, {'delisted': Date.today()})

    # Fields that only the List and Delist buttons change
    _workflow_fields = {'state', 'delisted'}
    # Fields fixed once the entry is listed, and once it is delisted
    _listed_fields = {'template', 'listed'}
    _delisted_fields = {'delist_reason', 'delist_note'}

    @classmethod
    def check_modification(cls, mode, entries, values=None, external=False):
        super().check_modification(
            mode, entries, values=values, external=external)
        if external:
            cls.check_workflow_fields(mode, entries, values)
        if mode == 'delete':
            for entry in entries:
                if entry.state != 'draft':
                    raise CertificationAccessError(gettext(
                            'relief_certification.msg_catalogue_delete_draft',
                            product=entry.rec_name))
        elif mode == 'write':
            # What was listed when is history: purchases and sales of those
            # days were checked against it.
            for entry in entries:
                if entry.state != 'draft':
                    cls._check_fixed(entry, values, cls._listed_fields,
                        'msg_catalogue_listed_modify')
                if entry.state == 'delisted':
                    cls._check_fixed(entry, values, cls._delisted_fields,
                        'msg_catalogue_delisted_modify')

    @classmethod
    def _check_fixed(cls, entry, values, names, message):
        changed = sorted(values.keys() & names)
        if changed:
            raise CertificationAccessError(gettext(
                    'relief_certification.' + message,
                    product=entry.rec_name,
                    field=cls.__names__(changed[0])['field']))

    @classmethod
    def check_workflow_fields(cls, mode, entries, values=None):
        """Refuse a user's write of the workflow fields and a creation that
        is not a draft: only the List and Delist buttons change them"""
        if mode == 'write' and entries and (
                values.keys() & cls._workflow_fields):
            field = sorted(values.keys() & cls._workflow_fields)[0]
            raise CertificationAccessError(gettext(
                    'relief_certification.msg_catalogue_workflow_write',
                    product=entries[0].rec_name,
                    field=cls.__names__(field)['field']))
        elif mode == 'create':
            for entry in entries:
                if entry.state != 'draft' or entry.delisted:
                    raise CertificationAccessError(gettext(
                            'relief_certification'
                            '.msg_catalogue_workflow_create',
                            product=entry.rec_name))

    @classmethod
    def copy(cls, entries, default=None):
        default = default.copy() if default is not None else {}
        for name in ['listed', 'delisted', 'delist_reason', 'delist_note']:
            default.setdefault(name)
        return super().copy(entries, default=default)
