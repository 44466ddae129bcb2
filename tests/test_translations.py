# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The Chinese interface of the official modules the demo activates.

Every relief module is activated with its dependencies, as scripts/demo
does (the database of tests/test_access_models.py, from the same cache),
then zh_CN is loaded the way trytond-admin -l zh_CN loads it
(ir.lang load_translations: each module's locale/zh_CN.po and
locale/override/zh_CN.po, in dependency order).  Then:

- every text of an official module (ir, res and trytond/modules/*) that the
  interface translates has a zh_CN translation that is neither empty nor
  fuzzy (Tryton shows the English text for those), and is not the English
  text copied (unless ENGLISH_KEPT says why);
- no menu entry that a role of the demo sees holds a Latin word, except the
  names in MENU_NAMES (tests/test_browser.py checks the same in sao);
- removing one override entry makes the check fail.

The relief modules' own translations are not checked here.  The official
translations are filled in override files: modules/relief/locale/override/
zh_CN.po for the modules relief depends on, and the override file of the
relief module that depends on the others (relief_certification:
product_kit; relief_trace: production; relief_subsidy: product_price_list,
sale_price_list, sale_promotion, sale_promotion_coupon; relief_mall:
account_payment, account_payment_clearing, sale_payment, web_shop,
web_user; relief_counter: sale_point, stock_supply, stock_lot_sled,
purchase_request; relief_report: dashboard; relief_bidding:
purchase_blanket_agreement, purchase_request_quotation, quality): an override is applied when its module is loaded, and its
target must be loaded before."""
import re
from pathlib import Path

import pytest

from dbtools import activate

ROOT = Path(__file__).resolve().parents[1]
DATABASE = 'relief_translations'
LANG = 'zh_CN'
# With their dependencies, every relief module (checked by the fixture)
MODULES = ['relief_subsidy', 'relief_trace', 'relief_mall',
    'relief_counter', 'relief_report', 'relief_bidding']

# Translations Tryton never shows, and why (by kind, see _excluded).
EXCLUDED = {
    'help_selection': "the help of a selection's options is registered as "
        "'help' but Selection.definition (trytond 8.0) looks it up as "
        "'selection': these rows are never read",
    }

# Texts shown in English because no override can reach them, and why:
# {(type, name, source): reason}.  Each must still be a gap
# (test_unreachable_is_current): remove it once it is translated.  (The
# helps that production rewrites with an outdated msgid are reached by plain
# entries in relief_trace's zh_CN.po.)
UNREACHABLE = {}
# Gaps that come and go as the modules happen to register, and why:
# {(type, name, source)}, not checked either way.
VARYING = set()

# English texts kept as they are in Chinese, and why: {source: reason}
_NAME = "a name or an abbreviation Chinese users write in Latin letters"
ENGLISH_KEPT = {
    'ID': _NAME,
    'UUID': _NAME,
    'URL': _NAME,
    'Cookie': _NAME,
    'SIP': "a protocol's name",
    'IRC': "a protocol's name",
    'Jabber': "a service's name",
    'Skype': "a service's name",
    }
# ... and by field: {name: reason}
ENGLISH_KEPT_FIELDS = {
    'product.uom,symbol': "units' symbols (kg, cm, ...) are international",
    }

# Latin words a menu entry may hold: proper names and standards
MENU_NAMES = {
    'GS1': "the standard's name",
    'EPCIS': "the standard's name",
    'QR': "QR code, as Chinese writes it",
    'Excel': "the program's name",
    'REST': "the protocol's name (REST API)",
    'API': "REST API, as Chinese writes it",
    }
LATIN = re.compile(r'[A-Za-z][A-Za-z0-9]+')
# What is not text in a translation: placeholders, tags, reserved words
_CODE = re.compile(r'%\([^)]*\)[a-z]|%[sdr]|\$\{[^}]*\}|\{[^}]*\}|<[^>]*>'
    r'|\[\d+:|\]')


@pytest.fixture(scope='module')
def database():
    from trytond.pool import Pool
    from trytond.tests.test_tryton import drop_db
    from trytond.transaction import Transaction

    # A database left by an earlier run may be built from other files:
    # start from the cache, which is keyed by the modules' files.
    drop_db(DATABASE)
    activate(MODULES, DATABASE)
    try:
        with Transaction().start(DATABASE, 0) as transaction:
            pool = Pool()
            Lang = pool.get('ir.lang')
            Module = pool.get('ir.module')
            relief = {p.parent.name
                for p in (ROOT / 'modules').glob('*/tryton.cfg')}
            activated = {m.name for m in Module.search([
                        ('state', '=', 'activated')])}
            assert relief <= activated, relief - activated
            Lang.load_translations(Lang.search([('code', '=', LANG)]))
            transaction.commit()
        yield DATABASE
    finally:
        drop_db(DATABASE)


@pytest.fixture
def pool(database):
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    with Transaction().start(database, 0, readonly=False,
            context={'language': LANG}) as transaction:
        try:
            yield Pool()
        finally:
            transaction.rollback()


def official_modules(pool):
    Module = pool.get('ir.module')
    return {m.name for m in Module.search([('state', '=', 'activated')])
        if not m.name.startswith('relief')}


def _rows(pool, lang):
    from trytond.transaction import Transaction

    table = pool.get('ir.translation').__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(table.module, table.type, table.name,
            table.res_id, table.src, table.value, table.fuzzy,
            where=table.lang == lang))
    return list(cursor)


def _is_english(text):
    "Whether text holds a word in Latin letters, besides placeholders"
    return bool(LATIN.search(_CODE.sub(' ', text or '')))


def _excluded(pool, type_, name, src):
    "The kind of EXCLUDED the translation is, or None"
    if type_ == 'help' and ',' in name:
        model, field = name.split(',', 1)
        try:
            Model = pool.get(model)
        except KeyError:
            return None
        help_selection = getattr(
            Model._fields.get(field), 'help_selection', None) or {}
        if src in {str(v) for v in help_selection.values()}:
            return 'help_selection'
    return None


def gaps(pool, modules=None):
    """The translations of modules (the official ones by default) that
    Tryton shows in English: {(type, name, res_id, source): why}"""
    if modules is None:
        modules = official_modules(pool)
    # What Tryton finds for a text: a zh_CN row of any module with the same
    # type, name, record and English source, not empty and not fuzzy
    found = {}
    own = []
    for module, type_, name, res_id, src, value, fuzzy in _rows(pool, LANG):
        key = (type_, name, res_id, src)
        if value and not fuzzy:
            found[key] = value
        if module in modules:
            own.append((key, value, fuzzy))
    result = {}
    # The texts the modules register (in English): each needs one
    for module, type_, name, res_id, src, _, _ in _rows(pool, 'en'):
        key = (type_, name, res_id, src)
        if module not in modules or not src or key in found:
            continue
        if _excluded(pool, type_, name, src):
            continue
        result[key] = 'missing, empty or fuzzy'
    # (zh_CN rows whose English source is no longer registered are never
    # read: not checked.)  Views and reports register no English row: their
    # zh_CN rows are checked
    for key, value, fuzzy in own:
        if key[0] in {'view', 'report'} and key not in found:
            result[key] = 'fuzzy' if fuzzy and value else 'empty'
    # A translation that is the English text copied
    for key in {k for k, _, _ in own}:
        type_, name, _, src = key
        if (found.get(key) == src and _is_english(src)
                and src not in ENGLISH_KEPT
                and name not in ENGLISH_KEPT_FIELDS):
            result[key] = 'the English text'
    return result


def _report(found):
    lines = [f"{why}: {t} {n} [{r}] {s!r}"
        for (t, n, r, s), why in sorted(found.items(), key=str)]
    return f"{len(lines)} texts shown in English:\n" + "\n".join(lines[:200])


def test_official_modules_translated(pool):
    "Every text of the official modules has a Chinese translation"
    found = {k: w for k, w in gaps(pool).items()
        if (k[0], k[1], k[3]) not in set(UNREACHABLE) | VARYING}
    assert not found, _report(found)


def test_unreachable_is_current(pool):
    "Each text of UNREACHABLE is still untranslated (else remove it)"
    untranslated = {(k[0], k[1], k[3]) for k in gaps(pool)}
    stale = sorted(set(UNREACHABLE) - untranslated)
    assert not stale, f"translated now, remove from UNREACHABLE: {stale}"


def roles(pool):
    """The users of the demo's roles: {login: user id}, admin as it is,
    the others created (and rolled back) with the groups the demo gives"""
    import importlib.util

    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    spec = importlib.util.spec_from_file_location(
        'relief_demo_users', ROOT / 'scripts' / 'demo' / 'relief.py')
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    # scripts/demo/relief_trace.py grant_production: the back office packs
    # gift packs
    extra = {'backoffice': ['production.group_production']}
    admin, = User.search([('login', '=', 'admin')])
    users = {'admin': admin.id}
    for login, (name, groups) in demo.USERS.items():
        xml_ids = ['relief.group_relief'] + groups + extra.get(login, [])
        user, = User.create([{
                    'login': f'{login}_translations',
                    'name': name,
                    'groups': [('add', [ModelData.get_id(*x.split('.'))
                                for x in xml_ids])],
                    }])
        users[login] = user.id
    return users


def menu_labels(pool, user_id):
    "The labels of the menu entries user sees, by their path"
    from trytond.transaction import Transaction, check_access

    Menu = pool.get('ir.ui.menu')
    with Transaction().set_user(user_id), check_access(), \
            Transaction().set_context(language=LANG):
        menus = Menu.search([])
        ids = [m.id for m in menus]
    with Transaction().set_context(language=LANG):
        return sorted(m.complete_name for m in Menu.browse(ids))


def menu_latin_words(label):
    return [w for w in LATIN.findall(label) if w not in MENU_NAMES]


def test_menus_in_chinese(pool):
    "No menu entry a role of the demo sees holds a Latin word"
    english = {}
    for login, user_id in roles(pool).items():
        labels = menu_labels(pool, user_id)
        assert labels, f"{login} sees no menu"
        bad = [label for label in labels if menu_latin_words(label)]
        if bad:
            english[login] = bad
    assert not english, f"menu entries with Latin words: {english}"


def test_a_removed_override_is_found(pool, tmp_path):
    "Without one of its override entries, a text is found untranslated"
    import polib

    Translation = pool.get('ir.translation')
    module = ROOT / 'modules' / 'relief_certification' / 'locale'
    override = polib.pofile(str(module / 'override' / f'{LANG}.po'))
    removed = next(e for e in override
        if e.msgctxt == 'selection:product.template,type:product_kit.')
    override.remove(removed)
    (tmp_path / 'override').mkdir()
    path = tmp_path / 'override' / f'{LANG}.po'
    override.save(str(path))
    # product_kit's own file, then relief_certification's without the entry
    from trytond.modules import product_kit
    kit = Path(product_kit.__file__).parent / 'locale' / f'{LANG}.po'
    assert gaps(pool, {'product_kit'}) == {}
    Translation.translation_import(LANG, 'product_kit', [str(kit)])
    Translation.translation_import(LANG, 'relief_certification',
        [str(module / f'{LANG}.po'), str(path)])
    assert set(gaps(pool, {'product_kit'})) == {
        ('selection', 'product.template,type', -1, removed.msgid)}
