# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from sql import Null
from sql.operators import Equal

from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import Exclude, Index, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.sql.functions import DateRange
from trytond.sql.operators import RangeOverlap

from .exceptions import RuleValidationError
from .totals import ensure_btree_gist


class Rule(ModelSQL, ModelView):
    "Consumption Assistance Rule"
    __name__ = 'relief.rule'
    _get_values_cache = Cache('relief.rule.get_values', context=False)

    jurisdiction = fields.Many2One(
        'country.subdivision', "Jurisdiction", required=True,
        ondelete='RESTRICT',
        help="The province, city or county where the rule applies.\n"
        "A rule of a lower level overrides the one of its parent.")
    kind = fields.Selection([
            ('festival_gift_cap', "Festival Gifts per Member per Year"),
            ('relief_share_min', "Minimum Relief Share of Gift Money"),
            ], "Kind", required=True, sort=False)
    kind_string = kind.translated('kind')
    value = fields.Numeric("Value", digits=(16, 4), required=True)
    unit = fields.Function(fields.Char("Unit"), 'on_change_with_unit')
    valid_from = fields.Date(
        "Valid From", required=True,
        domain=[
            If(Eval('valid_to'),
                ('valid_from', '<=', Eval('valid_to')),
                ()),
            ])
    valid_to = fields.Date(
        "Valid To",
        domain=[
            If(Eval('valid_to') & Eval('valid_from'),
                ('valid_to', '>=', Eval('valid_from')),
                ()),
            ],
        help="Leave empty while the rule is in force.")
    source = fields.Char(
        "Source Document", required=True,
        help="The document that sets the rule, with its number.")
    source_url = fields.Char("Source URL")
    comment = fields.Text("Comment")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('validity_overlap', Exclude(t,
                    (t.jurisdiction, Equal),
                    (t.kind, Equal),
                    (DateRange(t.valid_from, t.valid_to, '[]'),
                        RangeOverlap),
                    # An inverted period is refused by its domain, not by
                    # PostgreSQL's range (a raw data error)
                    where=(t.valid_to == Null)
                    | (t.valid_from <= t.valid_to)),
                'relief.msg_rule_validity_overlap'),
            ]
        cls._sql_indexes.add(
            Index(t,
                (t.kind, Index.Equality(cardinality='low')),
                (t.jurisdiction, Index.Range())))
        cls._order = [
            ('kind', 'ASC'),
            ('jurisdiction', 'ASC'),
            ('valid_from', 'DESC'),
            ('id', 'DESC'),
            ]

    @classmethod
    def __register__(cls, module_name):
        # Before any table of ours with an exclusion constraint: this one,
        # and those of the modules that depend on relief
        ensure_btree_gist()
        super().__register__(module_name)

    @classmethod
    def _percentage_kinds(cls):
        return {'relief_share_min'}

    @fields.depends('kind')
    def on_change_with_unit(self, name=None):
        if self.kind in self._percentage_kinds():
            return '%'
        elif self.kind:
            return gettext('relief.msg_unit_cny')

    def get_rec_name(self, name):
        return '%s %s (%s)' % (
            self.jurisdiction.rec_name,
            dict(self.fields_get(['kind'])['kind']['selection']).get(
                self.kind, self.kind),
            self.valid_from)

    @classmethod
    def validate_fields(cls, rules, field_names):
        super().validate_fields(rules, field_names)
        cls.check_value(rules, field_names)

    @classmethod
    def check_value(cls, rules, field_names=None):
        # In Python: SQLite compares decimals as text, a CHECK would not hold
        if field_names and not (field_names & {'kind', 'value'}):
            return
        for rule in rules:
            if rule.value is not None and rule.value < 0:
                raise RuleValidationError(
                    gettext('relief.msg_rule_value_negative',
                        rule=rule.rec_name, value=rule.value))
            if (rule.kind in cls._percentage_kinds()
                    and rule.value is not None and rule.value > 100):
                raise RuleValidationError(
                    gettext('relief.msg_rule_percentage',
                        rule=rule.rec_name, value=rule.value))

    @classmethod
    def create(cls, vlist):
        cls.check_overlap([(None, v) for v in vlist])
        return super().create(vlist)

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        pairs = []
        for rules, values in zip(actions, actions):
            if values.keys() & {
                    'jurisdiction', 'kind', 'valid_from', 'valid_to'}:
                pairs.extend((r, values) for r in rules)
        cls.check_overlap(pairs)
        super().write(*args)

    @classmethod
    def check_overlap(cls, pairs):
        """Refuse a validity that overlaps a rule of the same kind and
        jurisdiction, naming that rule.

        The exclusion constraint decides when two transactions race; this is
        checked before writing to tell which rule is in the way."""
        Subdivision = Pool().get('country.subdivision')
        for rule, values in pairs:
            def get(name):
                if name in values:
                    return values[name]
                value = getattr(rule, name, None) if rule else None
                return getattr(value, 'id', value)
            jurisdiction, kind = get('jurisdiction'), get('kind')
            start, end = get('valid_from'), get('valid_to')
            if not (jurisdiction and kind and start):
                continue
            domain = [
                ('jurisdiction', '=', jurisdiction),
                ('kind', '=', kind),
                ['OR', ('valid_to', '=', None), ('valid_to', '>=', start)],
                ]
            if end:
                domain.append(('valid_from', '<=', end))
            if rule:
                domain.append(('id', '!=', rule.id))
            for other in cls.search(domain, limit=1):
                raise RuleValidationError(gettext(
                        'relief.msg_rule_overlap',
                        jurisdiction=Subdivision(jurisdiction).rec_name,
                        kind=other.kind_string,
                        valid_from=start,
                        valid_to=end or '—',
                        other_from=other.valid_from,
                        other_to=other.valid_to or '—'))

    @classmethod
    def on_modification(cls, mode, rules, field_names=None):
        super().on_modification(mode, rules, field_names=field_names)
        cls._get_values_cache.clear()

    @classmethod
    def get_values(cls, kind, subdivisions, date=None):
        """Return the value of the rule of kind in force on date for each
        subdivision, walking up to its city and province when it has none
        of its own (None when no level has one)."""
        pool = Pool()
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        # Checked on every confirmation: rules seldom change, so cache.
        key = (kind, tuple(sorted(s.id for s in subdivisions)), date)
        values = cls._get_values_cache.get(key)
        if values is None:
            values = cls._get_values(kind, subdivisions, date)
            cls._get_values_cache.set(key, values)
        return values

    @classmethod
    def _get_values(cls, kind, subdivisions, date):
        chains = {s.id: cls._ancestors(s) for s in subdivisions}
        jurisdictions = {j for chain in chains.values() for j in chain}
        rules = cls.search([
                ('kind', '=', kind),
                ('jurisdiction', 'in', list(jurisdictions)),
                ('valid_from', '<=', date),
                ['OR',
                    ('valid_to', '=', None),
                    ('valid_to', '>=', date),
                    ],
                ])
        by_jurisdiction = {r.jurisdiction.id: r.value for r in rules}
        return {
            sid: next((by_jurisdiction[j] for j in chain
                    if j in by_jurisdiction), None)
            for sid, chain in chains.items()}

    @classmethod
    def get_value(cls, kind, subdivision, date=None):
        "Return the value of the rule of kind in force for subdivision"
        return cls.get_values(kind, [subdivision], date)[subdivision.id]

    @staticmethod
    def _ancestors(subdivision):
        chain = []
        while subdivision and subdivision.id not in chain:
            chain.append(subdivision.id)
            subdivision = subdivision.parent
        return chain
