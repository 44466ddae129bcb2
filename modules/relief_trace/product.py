# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.pool import PoolMeta

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
