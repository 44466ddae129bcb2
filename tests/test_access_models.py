# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Default deny, model by model, in the fully activated suite.

Tryton opens a model without ir.model.access rows to every user, on every
interface (JSON-RPC, the REST API, exports).  This walks every model of the
pool with all relief modules activated and fails on any model that a user
in no group at all may create, write or delete, unless OPEN below says why;
then, for each role of the demo (its groups by XML id), on any relief model
the role may change that ROLES does not list.  test_walk_fails_without_a_row
shows that the walk fails when one access row is removed.

Access is computed by ir.model.access.get_access, what every interface
checks, for a user of exactly those groups."""
from unittest import mock

import pytest

from dbtools import activate

MODULES = ['relief_subsidy', 'relief_trace', 'relief_mall', 'relief_counter',
    'relief_report', 'relief_bidding']
DATABASE = 'relief_access_models'

# Models every user may change, and why that is safe.
_RESOURCE = ("checked against the record it is attached to "
    "(ResourceAccessMixin): who may read or write that record")
_OWN = "each user's own records (a record rule limits them to their user)"
OPEN = {
    'ir.attachment': _RESOURCE,
    'ir.note': _RESOURCE,
    'ir.note.read': _RESOURCE,
    'ir.avatar': _RESOURCE,
    'ir.avatar.cache': "cache of the avatars above, same access",
    'ir.email': "emails a user sends from the client (create only), "
        "attached to a record they may read",
    'ir.email.address': "the addresses of those emails",
    'ir.session.wizard': "the session of a wizard a user runs (created by "
        "every wizard); relief's rule: own sessions only",
    'ir.ui.menu.favorite': _OWN,
    'dashboard.action': _OWN + "; administrators set anyone's board "
        "(relief_report's dashboard.xml)",
    'ir.ui.view_tree_optional': _OWN,
    'ir.ui.view_tree_width': _OWN,
    'ir.sequence': "record rules per sequence type: only the groups of "
        "the type (ir.sequence.type-res.group, administrators only) change "
        "a sequence; numbers are taken without access checks",
    'ir.sequence.strict': "same as ir.sequence",
    'quality.inspection': "quality lets every user write an inspection "
        "(whoever runs a controlled operation fills in its pending "
        "inspection; creating is the quality group's); relief_bidding "
        "refuses any change of a processed one (check_modification)",
    'company.company.logo.cache': "resized logos, written when any user "
        "prints a document; holds no data of its own",
    }

# What each role may change among the relief models: {model: 'wcd'}.
# Lines follow their document (__access__): who may write a recall may
# write its lines as far as model access goes, and the module refuses what
# the workflow does not allow (check_modification, the scenarios).  Subsidy
# lines, of a sale or of a counter sale, have their own rows (read only):
# the workflow writes them without access checks (relief.ir.Rule applies
# the rules of the document each one has).
_FOLLOW = "wcd"
ROLES = {
    'back office': (['relief.group_relief', 'relief.group_relief_back_office',
            'purchase.group_purchase', 'stock.group_stock',
            'product.group_product_admin', 'party.group_party_admin',
            'sale.group_sale', 'production.group_production'], {
            'relief.supplier.certification': 'wcd',
            'relief.product.certification': 'wcd',
            'relief.catalogue.entry': 'wcd',
            'relief.union.plan': 'wcd',
            'relief.report.target': 'wcd',
            'relief.report.offplatform': 'wcd',
            'relief.trace.recall': 'wcd',
            'relief.trace.recall.line': _FOLLOW,
            'relief.mall.delivery': _FOLLOW,
            }),
    'finance': (['relief.group_relief', 'relief.group_relief_finance',
            'account.group_account', 'sale.group_sale',
            'purchase.group_purchase'], {
            'relief.subsidy.program': 'wcd',
            'relief.subsidy.program-party.party': _FOLLOW,
            'relief.subsidy.program-product.product': _FOLLOW,
            'relief.subsidy.program-product.category': _FOLLOW,
            'relief.subsidy.claim': 'wcd',
            'relief.subsidy.claim.line': _FOLLOW,
            'relief.mall.delivery': _FOLLOW,
            }),
    # Read-only
    'accountant': (['relief.group_relief',
            'relief.group_relief_union_accountant'], {}),
    # The user the member mall's routes run as: orders only (their
    # subsidy lines follow the sale, which it may not delete; the workflow
    # refuses the rest)
    'mall channel': (['relief_mall.group_mall_channel'], {}),
    # Counter clerks (sale_point's group): counter sales, payments and
    # cash sessions are sale_point's models; their subsidies follow the
    # sale, and relief_subsidy refuses any user's change (HTTP:
    # test_access_http.test_counter_clerk_by_workflow)
    'counter clerk': (['sale_point.group_sale_point'], {}),
    # The user the devices' feeds run as: counter sales only (their
    # subsidies follow them as far as model access goes; relief_subsidy
    # refuses any user's change)
    'counter channel': (['relief_counter.group_counter_channel'], {}),
    # Bidding rounds, their invitations and bids (the workflow refuses a
    # bid outside the round's window; the seal holds for every user)
    'bidding': (['relief.group_relief', 'relief_bidding.group_bidding',
            'purchase.group_purchase'], {
            'relief.bidding.round': 'wcd',
            'relief.bidding.round.line': _FOLLOW,
            'relief.bidding.invitation': _FOLLOW,
            'relief.bidding.bid': _FOLLOW,
            }),
    # Their union's orders (sale.sale, a record rule; the workflow and the
    # buttons refuse the rest) and the delivery lists that follow them (the
    # subsidy lines follow too; relief_subsidy refuses any user's change)
    'union buyer': (['relief.group_relief',
            'relief_mall.group_union_buyer'], {
            'relief.mall.delivery': _FOLLOW,
            }),
    }


def _storage_models(pool):
    from trytond.model import ModelStorage
    return sorted(name for name, Model in pool.iterobject()
        if issubclass(Model, ModelStorage))


def _access(pool, groups, models):
    "What a user of exactly groups (ids) may do on models"
    ModelAccess = pool.get('ir.model.access')
    User = pool.get('res.user')
    ModelAccess._get_access_cache.clear()
    with mock.patch.object(User, 'get_groups',
            classmethod(lambda cls: tuple(groups))):
        return ModelAccess.get_access(models)


def _changes(access):
    return {model: ''.join(p[0] for p in ['write', 'create', 'delete']
            if perms[p])
        for model, perms in access.items()
        if perms['write'] or perms['create'] or perms['delete']}


def open_models(pool):
    "Models a user without groups may change, not explained in OPEN"
    changes = _changes(_access(pool, [], _storage_models(pool)))
    return {m: c for m, c in changes.items() if m not in OPEN}


@pytest.fixture(scope='module')
def pool():
    from trytond.pool import Pool
    from trytond.tests.test_tryton import drop_db
    from trytond.transaction import Transaction

    # A database left by an earlier run holds the modules as they were then
    drop_db(DATABASE)
    activate(MODULES, DATABASE)
    try:
        with Transaction().start(DATABASE, 0) as transaction:
            try:
                yield Pool()
            finally:
                transaction.rollback()
    finally:
        drop_db(DATABASE)


def test_default_deny(pool):
    "No model is open to a user without groups unless OPEN says why"
    gaps = open_models(pool)
    assert gaps == {}, f"open to every user: {gaps}"


def test_open_list_is_current(pool):
    "Each model in OPEN exists and is still open (else remove it)"
    changes = _changes(_access(pool, [], _storage_models(pool)))
    stale = sorted(set(OPEN) - set(changes))
    assert stale == [], f"closed or gone, remove from OPEN: {stale}"


@pytest.mark.parametrize('role', sorted(ROLES))
def test_role_changes(pool, role):
    "A role changes the relief models ROLES lists, as it lists, no other"
    ModelData = pool.get('ir.model.data')
    xml_ids, expected = ROLES[role]
    groups = [ModelData.get_id(*x.split('.')) for x in xml_ids]
    models = [m for m in _storage_models(pool) if m.startswith('relief.')]
    changes = _changes(_access(pool, groups, models))
    assert changes == expected, f"{role} changes {changes}"


# The official models of the rounds' requests for quotation
# (purchase_request_quotation, relief_bidding's invitation): what each role
# may do on them, 'r' for read then its changes.  The bidding role reads
# them (its buttons make, send, receive and reject them without access
# checks; relief_bidding refuses a user's change of a round's quotation);
# the purchase group reads every request and quotation as Tryton gives it,
# but relief_bidding's record rules hide a round's to whoever is neither of
# the bidding nor of the purchase request group (scenario_bidding_round:
# finance sees none of them).  Quotation lines follow their quotation.
QUOTATION_MODELS = ['purchase.request', 'purchase.request.quotation',
    'purchase.request.quotation.line']
QUOTATIONS = {
    'back office': 'r',
    'finance': 'r',
    'accountant': '',
    'mall channel': '',
    'counter clerk': '',
    'counter channel': '',
    'bidding': 'r',
    'union buyer': '',
    }


@pytest.mark.parametrize('role', sorted(ROLES))
def test_role_quotations(pool, role):
    "A role's access to the requests for quotation is QUOTATIONS's"
    ModelData = pool.get('ir.model.data')
    xml_ids, _ = ROLES[role]
    groups = [ModelData.get_id(*x.split('.')) for x in xml_ids]
    access = _access(pool, groups, QUOTATION_MODELS)
    found = {m: ('r' if access[m]['read'] else '') + _changes(
            {m: access[m]}).get(m, '') for m in QUOTATION_MODELS}
    assert found == dict.fromkeys(QUOTATION_MODELS, QUOTATIONS[role]), (
        f"{role}: {found}")


def test_walk_fails_without_a_row(pool):
    "Removing one access row opens its model and the walk says so"
    Access = pool.get('ir.model.access')
    ModelData = pool.get('ir.model.data')
    row = Access(ModelData.get_id('relief', 'access_ir_session'))
    Access.write([row], {'active': False})
    try:
        assert 'ir.session' in open_models(pool)
    finally:
        Access.write([row], {'active': True})
    assert 'ir.session' not in open_models(pool)
