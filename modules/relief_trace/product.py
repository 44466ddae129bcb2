# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import re

from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import PoolMeta

from .exceptions import UomCodeError

# A UN/ECE Recommendation 20 common code: 2 or 3 upper case letters or
# digits (H87, KGM, XBX, 3B ...), what EPCIS 2.0 takes as a unit
UN_CODE = re.compile(r'^[A-Z0-9]{2,3}$')

# Where a relief product always needs its lot: received from a supplier,
# shipped to a customer, packed into a gift pack.
RELIEF_LOT_LOCATIONS = {'supplier', 'customer', 'production'}


class Product(metaclass=PoolMeta):
    __name__ = 'product.product'

    @property
    def relief_templates(self):
        templates = super().relief_templates
        if not templates and self.type == 'goods' and self.boms:
            # A gift pack packed in the warehouse sells the relief
            # products of its bill of materials.
            templates = [i.product.template
                for i in self.boms[0].bom.inputs
                if i.product.template.relief]
        return templates

    @property
    def relief_traced(self):
        "Whether the lots of this product are traced"
        return bool(self.template.relief or (
                self.type == 'goods' and self.relief_templates))

    def lot_is_required(self, from_, to):
        return super().lot_is_required(from_, to) or (
            self.relief_traced
            and bool({from_.type, to.type} & RELIEF_LOT_LOCATIONS))

    @property
    def relief_gtin(self):
        "The GTIN-14 of the product or None"
        for identifier in self.identifiers:
            if identifier.type == 'ean':
                code = identifier.code.strip()
                if code.isdigit() and len(code) in {8, 12, 13, 14}:
                    return code.zfill(14)


class Uom(metaclass=PoolMeta):
    __name__ = 'product.uom'

    relief_un_code = fields.Char(
        "UN/ECE Code",
        help="The code of the unit in UN/ECE Recommendation 20 "
        "(H87 piece, KGM kilogram, XBX box, XBO bottle ...): the unit of "
        "the quantities of EPCIS exports.")

    @classmethod
    def validate_fields(cls, uoms, field_names):
        super().validate_fields(uoms, field_names)
        cls.check_relief_un_code(uoms, field_names)

    @classmethod
    def check_relief_un_code(cls, uoms, field_names=None):
        if field_names and 'relief_un_code' not in field_names:
            return
        for uom in uoms:
            if uom.relief_un_code and not UN_CODE.match(uom.relief_un_code):
                raise UomCodeError(gettext(
                        'relief_trace.msg_uom_un_code_invalid',
                        unit=uom.rec_name, code=uom.relief_un_code))

    def relief_epcis_quantity(self, quantity):
        """Return the quantity in self as (quantity, Rec 20 code) for EPCIS.

        A unit without code that is a measure of its category's reference
        unit (斤, 500 g: no Rec 20 code exists) is given in that unit when
        it has a code; any other unit without code is refused, as a package
        (盒, 箱) is no number of pieces."""
        if self.relief_un_code:
            return quantity, self.relief_un_code
        reference = self._relief_reference()
        if (reference and reference.relief_un_code
                and self.factor != 1):
            return (self.compute_qty(self, quantity, reference, round=False),
                reference.relief_un_code)
        raise UomCodeError(gettext(
                'relief_trace.msg_uom_un_code_missing', unit=self.rec_name))

    def _relief_reference(self):
        for uom in self.category.uoms:
            if uom.factor == 1 and uom.rate == 1 and uom != self:
                return uom
