# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.pool import Pool


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "Consumption Assistance Configuration"
    __name__ = 'relief.configuration'

    jurisdiction = fields.Many2One(
        'country.subdivision', "Jurisdiction",
        help="The province whose rules apply by default.")
    excel_max_rows = fields.Integer(
        "Excel Maximum Rows", required=True,
        domain=[('excel_max_rows', '>', 0)],
        help="The most data rows an imported sheet may have.")
    excel_max_size = fields.Integer(
        "Excel Maximum Size", required=True,
        domain=[('excel_max_size', '>', 0)],
        help="The largest workbook accepted for import, in KiB.")

    @classmethod
    def default_jurisdiction(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        try:
            return ModelData.get_id('relief', 'subdivision_cn_sn')
        except KeyError:
            return None

    @classmethod
    def default_excel_max_rows(cls):
        return 20000

    @classmethod
    def default_excel_max_size(cls):
        return 10 * 1024
