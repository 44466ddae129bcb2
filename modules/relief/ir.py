# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
import datetime
import logging
import os
from dataclasses import dataclass

import polib
from sql import Null
from sql.functions import CurrentTimestamp

from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

logger = logging.getLogger(__name__)


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


# Tables that belong to another model without saying so to Tryton (no
# __access__): the values of multi-value fields and the relations of
# Many2Many fields.  Without an access row of their own Tryton opens them to
# every user; here they follow the model they belong to, so that only who
# may write a sale may link taxes to its lines, and so on.  Missing models
# (modules not activated) are ignored.
ACCESS_FOLLOWS = {
    'account.account-account.tax': 'account.account',
    'account.account.deferral': 'account.account',
    'account.account.template-account.tax.template':
        'account.account.template',
    'account.account.type.template': 'account.account.template',
    'account.configuration.default_account': 'account.configuration',
    'account.configuration.default_payment_term': 'account.configuration',
    'account.configuration.default_tax_rule': 'account.configuration',
    'account.configuration.journal': 'account.configuration',
    'account.configuration.payment_group_sequence': 'account.configuration',
    'account.configuration.payment_reference': 'account.configuration',
    'account.configuration.payment_sequence': 'account.configuration',
    'account.configuration.sequence': 'account.configuration',
    'account.configuration.tax_rounding': 'account.configuration',
    'account.invoice-account.move.line': 'account.invoice',
    'account.invoice-additional-account.move': 'account.invoice',
    'account.invoice.alternative_payee': 'account.invoice',
    'account.invoice.line-account.tax': 'account.invoice.line',
    'account.invoice.line-stock.move': 'account.invoice.line',
    'bank.account-party.party': 'bank.account',
    'party.configuration.party_lang': 'party.configuration',
    'party.configuration.party_sequence': 'party.configuration',
    'party.contact_mechanism.language': 'party.contact_mechanism',
    'party.party-delivered_to-stock.location': 'party.party',
    'party.party-party.category': 'party.party',
    'party.party.account': 'party.party',
    'party.party.customer_code': 'party.party',
    'party.party.customer_currency': 'party.party',
    'party.party.lang': 'party.party',
    'party.party.location': 'party.party',
    'party.party.payment_direct_debit': 'party.party',
    'party.party.payment_term': 'party.party',
    'party.party.sale_method': 'party.party',
    'party.party.sale_price_list': 'party.party',
    'party.party.supplier_currency': 'party.party',
    'party.party.supplier_lead_time': 'party.party',
    'product.category.account': 'product.category',
    'product.configuration.default_cost_price_method':
        'product.configuration',
    'product.configuration.default_lead_time': 'product.configuration',
    'product.configuration.default_lot_sequence': 'product.configuration',
    'product.cost_price': 'product.template',
    'product.gross_price': 'product.template',
    'product.cost_price_method': 'product.template',
    'product.lead_time': 'product.template',
    'product.list_price': 'product.template',
    'product.template-product.category': 'product.template',
    'production.configuration.production_sequence':
        'production.configuration',
    'purchase.configuration.purchase_method': 'purchase.configuration',
    'purchase.configuration.sequence': 'purchase.configuration',
    'purchase.configuration.supply_period': 'purchase.configuration',
    'purchase.line-account.tax': 'purchase.line',
    'purchase.line-ignored-stock.move': 'purchase.line',
    'purchase.line-recreated-stock.move': 'purchase.line',
    'purchase.line.component-ignored-stock.move': 'purchase.line',
    'purchase.line.component-recreated-stock.move': 'purchase.line',
    'purchase.purchase-ignored-account.invoice': 'purchase.purchase',
    'purchase.purchase-recreated-account.invoice': 'purchase.purchase',
    'quality.configuration.sequence': 'quality.configuration',
    'sale.configuration.quotation': 'sale.configuration',
    'sale.configuration.sale_method': 'sale.configuration',
    'sale.configuration.sale_price_list': 'sale.configuration',
    'sale.configuration.sequence': 'sale.configuration',
    'sale.line-account.tax': 'sale.line',
    'sale.line-ignored-stock.move': 'sale.line',
    'sale.line-recreated-stock.move': 'sale.line',
    'sale.line.component-ignored-stock.move': 'sale.line',
    'sale.line.component-recreated-stock.move': 'sale.line',
    'sale.promotion-product.category': 'sale.promotion',
    'sale.promotion-product.product': 'sale.promotion',
    'sale.sale-ignored-account.invoice': 'sale.sale',
    'sale.sale-recreated-account.invoice': 'sale.sale',
    'sale.sale-sale.promotion.coupon.number': 'sale.sale',
    'stock.configuration.location': 'stock.configuration',
    'stock.configuration.sequence': 'stock.configuration',
    'stock.location.lot.shelf_life': 'stock.configuration',
    'stock.location.waste': 'stock.location',
    'web.shop-country.country': 'web.shop',
    'web.shop-product.category': 'web.shop',
    'web.shop-product.product': 'web.shop',
    'web.shop-stock.location': 'web.shop',
    'web.user-party.party.secondary': 'web.user',
    }


class ModelAccess(metaclass=PoolMeta):
    __name__ = 'ir.model.access'

    @classmethod
    def get_access(cls, models):
        pool = Pool()
        follows = {}
        for model in models:
            parent = ACCESS_FOLLOWS.get(model)
            if parent and _in_pool(pool, parent):
                follows[model] = parent
        access = super().get_access(
            list(models) + [p for p in follows.values() if p not in models])
        for model, parent in follows.items():
            access[model] = {
                perm: bool(allowed and access[parent][perm])
                for perm, allowed in access[model].items()}
        return access


def _in_pool(pool, name):
    try:
        pool.get(name)
    except KeyError:
        return False
    return True


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'

    # res gives the user's id to the rules of its per-user models only; the
    # wizard sessions' rule (access.xml) needs it too.
    _user_models = {'ir.session.wizard'}

    @classmethod
    def _get_context(cls, model_name):
        User = Pool().get('res.user')
        context = super()._get_context(model_name)
        if model_name in cls._user_models:
            context['user_id'] = Transaction().user
        # The user's employees, as company gives its companies: the
        # counters' clerks (relief_counter)
        context['employees'] = User.get_employees()
        return context

    @classmethod
    def _get_cache_key(cls, model_names):
        User = Pool().get('res.user')
        key = super()._get_cache_key(model_names)
        if cls._user_models & set(model_names):
            key = (*key, Transaction().user)
        return (*key, User.get_employees())

    @classmethod
    def get(cls, model_name, mode='read'):
        """A model may name in _access_optional the relations that each of
        its records has one of (a subsidy: of a sale or of a counter sale).
        Tryton's __access__ would need them all (required, and the access
        of every target).  Instead a record is seen through the relation it
        has: the user must read its target model, and the target's rules
        (its groups' rules that apply to the user, its global rules) hold
        for the target record; one global rule says it."""
        pool = Pool()
        ModelAccess = pool.get('ir.model.access')
        clause, clause_global = super().get(model_name, mode=mode)
        Model = pool.get(model_name)
        optional = sorted(getattr(Model, '_access_optional', ()))
        if not optional:
            return clause, clause_global
        either, names = ['OR'], []
        for field in optional:
            Target = getattr(Model, field).get_target()
            if not ModelAccess.check(
                    Target.__name__, 'read', raise_exception=False):
                continue
            target, target_global = cls.get(Target.__name__, mode=mode)
            domain = [(field, '!=', None)]
            groups = list(target.values())
            if groups and all(groups):  # else a group without rules
                domain.append(_through(field, ['OR', *groups]))
                names.extend(g.name for g in target)
            for rule_group, rule_domain in target_global.items():
                domain.append(_through(field, rule_domain))
                names.append(rule_group.name)
            either.append(domain)
        if len(either) == 1:
            either = [('id', '=', None)]  # no target the user reads
        clause_global[_Rules(' / '.join(dict.fromkeys(names)))] = either
        return clause, clause_global


@dataclass(frozen=True)
class _Rules:
    "Rules gathered as one, named in access errors as a rule group is"
    name: str


def _through(field, domain):
    "domain of the target of field, for the records that point to it"
    if not domain:
        return domain  # a group without rules: no restriction
    return (field, 'where', domain)


class Queue(metaclass=PoolMeta):
    __name__ = 'ir.queue'

    def run(self):
        # Hold the task's row while it runs: a task whose row can be locked
        # is not running, whatever its dequeued_at says (requeue_stalled).
        self.__class__.lock([self])
        super().run()

    @classmethod
    def relief_requeue_stalled(cls, grace=60):
        """Put back in the queue the tasks taken by a worker that died (the
        process killed, the machine restarted) before finishing them"""
        transaction = Transaction()
        database = transaction.database
        if not database.has_select_for():
            return []
        queue = cls.__table__()
        cursor = transaction.connection.cursor()
        # Taken more than grace seconds ago (a worker locks its task's row
        # right after taking it), unfinished and not locked by a worker.
        stalled = queue.select(queue.id,
            where=(queue.dequeued_at != Null) & (queue.finished_at == Null)
            & (queue.dequeued_at < CurrentTimestamp()
                - datetime.timedelta(seconds=grace)),
            for_=database.get_select_for_skip_locked()('UPDATE'))
        cursor.execute(*queue.update([queue.dequeued_at], [Null],
                where=queue.id.in_(stalled), returning=[queue.id]))
        ids = [i for i, in cursor]
        if ids and database.has_channel():
            cursor.execute('NOTIFY "%s"' % cls.__name__)
        if ids:
            logger.warning("requeued stalled tasks %s", ids)
        return ids


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('ir.queue|relief_requeue_stalled', "Requeue Stalled Tasks"))
