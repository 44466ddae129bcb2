# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import os

import polib

from trytond.pool import Pool, PoolMeta


class Translation(metaclass=PoolMeta):
    __name__ = 'ir.translation'

    @classmethod
    def translation_import(cls, lang, module, po_path):
        result = super().translation_import(lang, module, po_path)
        cls._confirm_fuzzy_overrides(lang, po_path)
        return result

    @classmethod
    def _confirm_fuzzy_overrides(cls, lang, po_path):
        # An override that confirms an upstream fuzzy translation changes no
        # value, so Tryton keeps it fuzzy and shows the English text: clear
        # the flag of those the override file confirms.
        ModelData = Pool().get('ir.model.data')
        paths = [po_path] if isinstance(po_path, str) else po_path
        to_confirm = []
        for path in paths:
            if os.path.basename(os.path.dirname(path)) != 'override':
                continue
            for entry in polib.pofile(path):
                if (entry.obsolete or 'fuzzy' in entry.flags
                        or not entry.msgstr or entry.msgid_plural):
                    continue
                translation, res_id = cls.from_poentry(entry)
                target_module, fs_id = res_id.split('.', 1)
                domain = [
                    ('lang', '=', lang),
                    ('module', '=', target_module),
                    ('type', '=', translation.type),
                    ('name', '=', translation.name),
                    ('src', '=', translation.src),
                    ('value', '=', translation.value),
                    ('fuzzy', '=', True),
                    ]
                if fs_id:
                    domain.append(('res_id', '=',
                            ModelData.get_id(target_module, fs_id)))
                to_confirm.extend(cls.search(domain))
        if to_confirm:
            cls.write(to_confirm, {'fuzzy': False})
