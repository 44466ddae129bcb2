# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Demo data of the base module: the distributor, its books, its users."""
import datetime as dt
import secrets
from decimal import Decimal

from proteus import Model, Wizard

COMPANY = "陕西秦粮惠农供应链管理有限公司"  # invented
# login: (name, groups by XML id)
USERS = {
    'backoffice': ("王晓燕（采购仓储）", [
            'relief.group_relief_back_office', 'purchase.group_purchase',
            'stock.group_stock', 'product.group_product_admin',
            'party.group_party_admin', 'sale.group_sale']),
    'finance': ("李建国（财务）", [
            'relief.group_relief_finance', 'account.group_account',
            'sale.group_sale', 'purchase.group_purchase']),
    'accountant': ("张丽（工会会计）", [
            'relief.group_relief_union_accountant']),
    }


def load(config, passwords):
    company = create_company(config)
    create_books(config, company)
    create_users(config, company, passwords)
    skip_module_configuration(config)


def skip_module_configuration(config):
    """The demo is configured: without this, Tryton's module configuration
    wizard (模块配置) opens over it at the administrator's first login"""
    Item = Model.get('ir.module.config_wizard.item', config=config)
    items = Item.find([('state', '!=', 'done')])
    for item in items:
        item.state = 'done'
    Item.save(items)


def _ref(config, xml_id):
    ModelData = Model.get('ir.model.data', config=config)
    module, fs_id = xml_id.split('.')
    return ModelData.get_id(module, fs_id, config.context)


def create_company(config):
    Currency = Model.get('currency.currency', config=config)
    Party = Model.get('party.party', config=config)
    Subdivision = Model.get('country.subdivision', config=config)
    User = Model.get('res.user', config=config)
    Lang = Model.get('ir.lang', config=config)

    cny, = Currency.find([('code', '=', 'CNY')]) or [Currency(
            name="人民币", code='CNY', symbol='¥', numeric_code='156',
            rounding=Decimal('0.01'), digits=2)]
    if not cny.id or cny.id < 0:
        cny.rates.new(date=dt.date(2020, 1, 1), rate=Decimal(1))
        cny.save()

    party = Party(name=COMPANY)
    address = party.addresses[0]
    province, = Subdivision.find([('code', '=', 'CN-SN')])
    yanta = Subdivision.find([('gbt2260_code', '=', '610113')])
    address.country = province.country
    address.subdivision = yanta[0] if yanta else province
    address.city = "西安市"
    address.street = "雁塔区科技路 48 号"
    address.postal_code = '710065'
    zh_cn, = Lang.find([('code', '=', 'zh_CN')])
    party.lang = zh_cn
    party.save()

    company_config = Wizard('company.company.config', config=config)
    company_config.execute('company')
    company = company_config.form
    company.party = party
    company.currency = cny
    company.timezone = 'Asia/Shanghai'
    company_config.execute('add')

    admin, = User.find([('login', '=', 'admin')])
    admin.language = zh_cn
    admin.save()
    config._context = User.get_preferences(True, {})
    Company = Model.get('company.company', config=config)
    company, = Company.find()
    return company


def create_books(config, company):
    "A minimal chart of accounts, last year's and this year's fiscal years"
    from trytond.modules.account.tests.tools import create_chart, get_accounts
    create_chart(company, config=config)
    for year in [dt.date.today().year - 1, dt.date.today().year]:
        create_fiscalyear(config, company, year)
    accounts = get_accounts(company, config=config)
    PaymentTerm = Model.get('account.invoice.payment_term', config=config)
    term = PaymentTerm(name="月结30天")
    term.lines.new(type='remainder').relativedeltas.new(days=30)
    term.save()
    AccountConfig = Model.get('account.configuration', config=config)
    account_config = AccountConfig(1)
    account_config.default_account_receivable = accounts['receivable']
    account_config.default_account_payable = accounts['payable']
    account_config.default_customer_payment_term = term
    account_config.save()


def create_fiscalyear(config, company, year):
    # The test tools find sequence types by their English name, which a
    # Chinese database does not have: use the XML ids.
    FiscalYear = Model.get('account.fiscalyear', config=config)
    Sequence = Model.get('ir.sequence.strict', config=config)
    SequenceType = Model.get('ir.sequence.type', config=config)

    def sequence(xml_id, prefix):
        sequence = Sequence(
            name=f"{year}", prefix=f"{prefix}{year}-", padding=5,
            sequence_type=SequenceType(_ref(config, xml_id)),
            company=company)
        sequence.save()
        return sequence
    fiscalyear = FiscalYear(
        name=f"{year}", company=company,
        start_date=dt.date(year, 1, 1), end_date=dt.date(year, 12, 31))
    fiscalyear.move_sequence = sequence(
        'account.sequence_type_account_move', 'JZ')
    invoice = sequence('account_invoice.sequence_type_account_invoice', 'FP')
    seq, = fiscalyear.invoice_sequences
    seq.out_invoice_sequence = seq.in_invoice_sequence = invoice
    seq.out_credit_note_sequence = seq.in_credit_note_sequence = invoice
    fiscalyear.save()
    fiscalyear.click('create_period')


def create_users(config, company, passwords):
    User = Model.get('res.user', config=config)
    Group = Model.get('res.group', config=config)
    Lang = Model.get('ir.lang', config=config)
    Company = Model.get('company.company', config=config)
    zh_cn, = Lang.find([('code', '=', 'zh_CN')])
    for login, (name, groups) in USERS.items():
        password = secrets.token_urlsafe(9)
        user = User(login=login, name=name, password=password)
        user.language = zh_cn
        user.companies.append(Company(company.id))
        user.company = Company(company.id)
        for xml_id in ['relief.group_relief'] + groups:
            user.groups.append(Group(_ref(config, xml_id)))
        user.save()
        passwords[login] = password
