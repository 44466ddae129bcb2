# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from sql import Null

from trytond.model import Index, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

LEVELS = [
    (None, ""),
    ('province', "Province"),
    ('city', "City"),
    ('county', "County"),
    ]
POVERTY_STATUSES = [
    (None, ""),
    ('lifted', "Lifted-Poverty County"),
    ('tasked', "Non-Poor County with Poverty Tasks"),
    ('other', "Other"),
    ]


class Subdivision(metaclass=PoolMeta):
    __name__ = 'country.subdivision'

    @classmethod
    def on_modification(cls, mode, subdivisions, field_names=None):
        super().on_modification(mode, subdivisions, field_names=field_names)
        if mode != 'create' and (not field_names or 'parent' in field_names):
            # Rules are looked up the subdivision tree
            Pool().get('relief.rule')._get_values_cache.clear()

    gbt2260_code = fields.Char(
        "GB/T 2260 Code", size=6,
        help="The six-digit administrative division code.")
    relief_level = fields.Selection(
        LEVELS, "Administrative Level",
        help="Where the division stands in the province, city, "
        "county tree.")
    relief_poverty_status = fields.Selection(
        POVERTY_STATUSES, "Poverty Status",
        states={
            'invisible': Eval('relief_level') != 'county',
            },
        help="The county's standing in the poverty-relief programme.")
    relief_children = fields.One2Many(
        'country.subdivision', 'parent', "Subdivisions", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('gbt2260_code_unique', Unique(t, t.gbt2260_code),
                'relief.msg_subdivision_gbt2260_code_unique'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.relief_level, Index.Equality(cardinality='low')),
                where=t.relief_level != Null))

    @classmethod
    def __register__(cls, module_name):
        super().__register__(module_name)
        # Only once, as the relief module (not again for modules that
        # extend the subdivisions after it).
        if module_name == 'relief':
            cls._relief_link_existing(module_name)

    @classmethod
    def _relief_link_existing(cls, module_name):
        # China and Shaanxi may already have been imported from pycountry
        # (trytond_import_countries): adopt those records for our XML ids
        # instead of creating a second China.
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Country = pool.get('country.country')
        for model, fs_id, domain in [
                ('country.country', 'country_cn', [('code', '=', 'CN')]),
                ('country.subdivision', 'subdivision_cn_sn',
                    [('code', '=', 'CN-SN')]),
                ]:
            Model = Country if model == 'country.country' else cls
            if ModelData.search([
                        ('module', '=', module_name), ('fs_id', '=', fs_id),
                        ]):
                continue
            with Transaction().set_context(active_test=False):
                records = Model.search(domain, limit=1)
            if records:
                record, = records
                ModelData.create([{
                            'model': model,
                            'module': module_name,
                            'fs_id': fs_id,
                            'db_id': record.id,
                            'noupdate': True,
                            }])

    @classmethod
    def search_rec_name(cls, name, clause):
        domain = super().search_rec_name(name, clause)
        _, operator, operand, *extra = clause
        return domain + [('gbt2260_code', operator, operand, *extra)]
