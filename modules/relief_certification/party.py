# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import fields
from trytond.pool import Pool, PoolMeta


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    relief_certifications = fields.One2Many(
        'relief.supplier.certification', 'supplier',
        "Supplier Certifications", readonly=True)
    relief_certification = fields.Function(
        fields.Many2One(
            'relief.supplier.certification', "Supplier Certification"),
        'get_relief_figures')
    relief_cap = fields.Function(
        fields.Numeric("Purchase Cap", digits=(16, 2)),
        'get_relief_figures')
    relief_consumed = fields.Function(
        fields.Numeric("Purchased", digits=(16, 2)),
        'get_relief_figures')
    relief_remaining = fields.Function(
        fields.Numeric("Remaining Cap", digits=(16, 2)),
        'get_relief_figures', searcher='search_relief_remaining')

    @classmethod
    def get_relief_figures(cls, parties, names):
        "The figures of each party's certification valid today"
        pool = Pool()
        Certification = pool.get('relief.supplier.certification')
        Date = pool.get('ir.date')
        valid = Certification.find_valid(parties, Date.today())
        certifications = list(valid.values())
        figures = Certification.get_cap_figures(
            certifications, ['cap', 'consumed', 'remaining'])
        result = {n: {} for n in names}
        for party in parties:
            certification = valid.get(party.id)
            for name in names:
                if name == 'relief_certification':
                    value = certification.id if certification else None
                else:
                    value = figures[name[len('relief_'):]].get(
                        certification.id) if certification else None
                result[name][party.id] = value
        return result

    def _relief_figure_order(name):
        "Sort on a figure of the certification valid today (as shown)"
        def order(cls, tables):
            pool = Pool()
            Certification = pool.get('relief.supplier.certification')
            Date = pool.get('ir.date')
            party, _ = tables[None]
            certification = Certification.__table__()
            today = Date.today()
            column = Certification._fields[name]._field._domain_column(
                '=', Certification._cap_figure_columns(certification)[name])
            return [certification.select(column,
                    where=(certification.supplier == party.id)
                    & (certification.state == 'certified')
                    & (certification.valid_from <= today)
                    & (certification.valid_to >= today),
                    limit=1)]
        return classmethod(order)

    order_relief_cap = _relief_figure_order('cap')
    order_relief_consumed = _relief_figure_order('consumed')
    order_relief_remaining = _relief_figure_order('remaining')
    del _relief_figure_order

    @classmethod
    def search_relief_remaining(cls, name, clause):
        Date = Pool().get('ir.date')
        _, operator, value = clause[:3]
        today = Date.today()
        # The figures shown are those of the certification valid today
        return [('relief_certifications', 'where', [
                    ('remaining', operator, value),
                    ('state', '=', 'certified'),
                    ('valid_from', '<=', today),
                    ('valid_to', '>=', today),
                    ])]
