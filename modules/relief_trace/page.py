# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The HTML of the public trace page: Chinese, one column for a phone,
no script.  It is given only the public facts of Lot.relief_public_data
(no customer, member, household name or phone ever reaches it) and escapes
every value.

The rendered pages are kept in a Tryton cache (see the end of this file)."""
import datetime as dt
import hashlib
import time
from email.utils import formatdate
from html import escape

from trytond import config
from trytond.cache import BaseCache, Cache, MemoryCache
from trytond.pool import PoolMeta

INSPECTION = {'passed': "合格", 'failed': "不合格"}

STYLE = """
body{margin:0;font-family:-apple-system,"PingFang SC","Noto Sans CJK SC",
"Microsoft YaHei",sans-serif;background:#f4f6f4;color:#1d2a1d;
line-height:1.6;font-size:16px}
main{max-width:36rem;margin:0 auto;padding:1rem}
header{background:#1f6f3f;color:#fff;padding:1rem}
header h1{margin:0;font-size:1.4rem}
header p{margin:.2rem 0 0;opacity:.85;font-size:.9rem}
section{background:#fff;border-radius:.5rem;padding:.8rem 1rem;
margin:.8rem 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:1.1rem;margin:0 0 .4rem;color:#1f6f3f}
dl{margin:0;display:grid;grid-template-columns:8.5em 1fr;gap:.2rem .6rem}
dt{color:#5a665a}dd{margin:0;word-break:break-all}
.alert{background:#b3261e;color:#fff;font-weight:bold;font-size:1.1rem;
border-radius:.5rem;padding:1rem;margin:.8rem 0}
.impact{font-size:1.05rem}.impact strong{color:#b3261e;font-size:1.4rem}
.ok{color:#1f6f3f;font-weight:bold}.bad{color:#b3261e;font-weight:bold}
footer{color:#6b776b;font-size:.8rem;text-align:center;padding:1rem}
"""


def _document(title, body):
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>{escape(title)}</title><style>{STYLE}</style></head>'
        f'<body>{body}</body></html>')


def _date(value):
    return value.strftime('%Y年%m月%d日') if value else "—"


def _rows(rows):
    return '<dl>' + ''.join(
        f'<dt>{escape(k)}</dt><dd>{v}</dd>' for k, v in rows) + '</dl>'


def _text(value):
    return escape(str(value)) if value not in (None, '') else "—"


def _inspection(data):
    result = data.get('inspection_result')
    if not result:
        return "—"
    css = 'ok' if result == 'passed' else 'bad'
    text = f'<span class="{css}">{INSPECTION[result]}</span>'
    if data.get('inspection_date'):
        text += f'（{_date(data["inspection_date"])}）'
    return text


def _origin(data):
    "The origin rows of a lot"
    certificate = data.get('certificate')
    county = data.get('county') or "—"
    if data.get('city'):
        county = f"{data['city']} {county}"
    rows = [
        ("产地", _text(county)),
        ("供应商", _text(data.get('supplier'))),
        ("生产基地/合作社", _text(data.get('base'))),
        ("生产/采收日期", _date(data.get('production_date'))),
        ("检验结果", _inspection(data)),
        ("检验报告编号", _text(data.get('inspection_report'))),
        ]
    if certificate:
        rows += [
            ("扶贫认定证书", _text(certificate['number'])),
            ("认定机构", _text(certificate['office'])),
            ("证书有效期", f"{_date(certificate['valid_from'])}至"
                f"{_date(certificate['valid_to'])}"),
            ]
    if data.get('catalogue_number'):
        rows.append(("扶贫产品目录编号", _text(data['catalogue_number'])))
    return _rows(rows)


def _impact(data):
    certificate = data.get('certificate')
    parts = []
    if certificate and certificate.get('poor_people'):
        parts.append(
            f"<p>供应商带动 <strong>{int(certificate['poor_people'])}</strong>"
            " 名脱贫群众增收（带贫人数）。</p>")
    if data.get('poor_households'):
        parts.append(
            f"<p>本批次产品由 <strong>{int(data['poor_households'])}</strong>"
            " 户脱贫户参与生产。</p>")
    if not parts:
        return ''
    return ('<section class="impact"><h2>帮扶成效</h2>' + ''.join(parts)
        + "<p>感谢您以购代帮，助力乡村振兴。</p></section>")


def _alerts(data):
    alerts = []
    if data.get('recalled'):
        alerts.append("⚠ 此批次产品已被召回，请立即停止食用或使用，"
            "并与购买渠道联系退换。")
    if data.get('delisted'):
        alerts.append("⚠ 此产品已从消费帮扶推荐目录下架，请勿继续销售或食用。")
    return ''.join(
        f'<div class="alert" role="alert">{escape(a)}</div>' for a in alerts)


def render(data):
    "Return the trace page of a lot's public data"
    title = f"{data['product']} · 产品追溯"
    body = [
        '<header><h1>' + escape(data['product']) + '</h1>'
        '<p>陕西工会消费帮扶 · 产品追溯</p></header><main>',
        _alerts(data),
        '<section><h2>批次信息</h2>' + _rows([
                ("产品", _text(data['product'])),
                ("批次号", _text(data['lot'])),
                ]) + '</section>',
        ]
    if data.get('components'):
        body.append('<section><h2>礼包组成</h2><p>本礼包由以下产品组成，'
            '每件产品均可追溯到产地。</p></section>')
        for component in data['components']:
            body.append(
                '<section><h2>' + escape(component['product']) + '</h2>'
                + _alerts(component)
                + _rows([("批次号", _text(component['lot']))])
                + _origin(component) + '</section>')
            body.append(_impact(component))
    else:
        body.append('<section><h2>产地与质量</h2>' + _origin(data)
            + '</section>')
        body.append(_impact(data))
    body.append('</main><footer>本页面信息由消费帮扶平台提供，'
        '不含任何个人信息。</footer>')
    return _document(title, ''.join(body))


def not_found():
    return _document("未找到追溯信息", (
            '<header><h1>未找到追溯信息</h1>'
            '<p>陕西工会消费帮扶 · 产品追溯</p></header><main>'
            '<section><h2>404</h2><p>没有找到与此二维码对应的产品批次。'
            '请确认二维码完整清晰，或联系购买渠道核实。</p></section>'
            '</main>'))


# The rendered pages of a process, by code, language and day (a catalogue
# entry or a certificate is valid by day).  Cleared in every process when
# what a page shows changes (the extensions below): at commit, through the
# database channel on PostgreSQL with [cache] clean_timeout = 0 (the
# production shape), else through the ir_cache table that each transaction
# reads at its start.  A page that is not found is not kept: a lot may get
# its page later (a packing done, its origin given).
# (One instance by name: the module may be imported twice, as
# trytond.modules.relief_trace and by the path of its tests.)
pages = (BaseCache._instances.get('relief_trace.page')
    or Cache('relief_trace.page', context=False))


def key(code):
    "The key of the page of code, as a transaction would render it now"
    return (code, config.get('database', 'language'),
        dt.date.today().toordinal())


def entry(body):
    """Return what is kept of a rendered page: the encoded body, its ETag,
    and when it was rendered (timestamp, HTTP date)"""
    body = body.encode('utf-8')
    etag = '"%s"' % hashlib.sha256(body).hexdigest()[:32]
    modified = int(time.time())
    return (body, etag, modified, formatdate(modified, usegmt=True))


def peek(database_name, key):
    """Return the kept page of key without starting a transaction, or None.

    Only when this process's listener of the database channel is running:
    it clears the pages as soon as a change is committed, so no transaction
    is needed to sync first.  Otherwise (SQLite, another cache class, the
    listener not yet started) the route looks in a transaction, whose start
    syncs the cache."""
    if not isinstance(pages, MemoryCache):
        return None
    listener = MemoryCache._local.listeners.get(database_name)
    if not getattr(listener, 'listening', False):
        return None
    # The LRU dictionary that MemoryCache.get reads for a transaction that
    # started after the last clear; replaced (not emptied) by a clear.
    cache = pages._database_cache.get(database_name)
    try:
        _, value = cache[key]
    except (KeyError, TypeError):
        return None
    pages.hit += 1
    return value


class PageMixin:
    "Clear the pages when a record of the model changes what a page shows"
    __slots__ = ()

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        if cls._relief_page_changed(mode, records, field_names):
            pages.clear()

    @classmethod
    def _relief_page_changed(cls, mode, records, field_names):
        return True


class _NotCreated(PageMixin):
    "A new record is on no kept page (pages not found are not kept)"
    __slots__ = ()

    @classmethod
    def _relief_page_changed(cls, mode, records, field_names):
        return mode != 'create'


class Lot(_NotCreated, metaclass=PoolMeta):
    "Its origin, inspection, blocking"
    __name__ = 'stock.lot'


class Move(PageMixin, metaclass=PoolMeta):
    "The components of a gift pack: the done moves of its packing"
    __name__ = 'stock.move'

    @classmethod
    def _relief_page_changed(cls, mode, moves, field_names):
        if field_names is not None and not (field_names & {
                    'state', 'lot', 'production_input', 'production_output'}):
            return False
        return any(m.lot and (m.production_input or m.production_output)
            for m in moves)


class Recall(PageMixin, metaclass=PoolMeta):
    __name__ = 'relief.trace.recall'


class RecallLine(PageMixin, metaclass=PoolMeta):
    __name__ = 'relief.trace.recall.line'


class Template(_NotCreated, metaclass=PoolMeta):
    "Its name, whether it is a relief product"
    __name__ = 'product.template'


class Product(_NotCreated, metaclass=PoolMeta):
    "Whether it is traced"
    __name__ = 'product.product'


class ProductIdentifier(PageMixin, metaclass=PoolMeta):
    "The GTIN of the GS1 Digital Link"
    __name__ = 'product.identifier'


class ProductBOM(PageMixin, metaclass=PoolMeta):
    "Whether a gift pack is traced: its bill of materials"
    __name__ = 'product.product-production.bom'


class BOMInput(PageMixin, metaclass=PoolMeta):
    __name__ = 'production.bom.input'


class SupplierCertification(PageMixin, metaclass=PoolMeta):
    "The certificate shown"
    __name__ = 'relief.supplier.certification'


class ProductCertification(PageMixin, metaclass=PoolMeta):
    "The catalogue number shown"
    __name__ = 'relief.product.certification'


class CatalogueEntry(PageMixin, metaclass=PoolMeta):
    "Whether the product is delisted"
    __name__ = 'relief.catalogue.entry'


class Party(PageMixin, metaclass=PoolMeta):
    "The supplier's name"
    __name__ = 'party.party'

    @classmethod
    def _relief_page_changed(cls, mode, records, field_names):
        return mode == 'delete' or (mode == 'write'
            and (field_names is None or bool(field_names & {'name', 'code'})))


class Subdivision(_NotCreated, metaclass=PoolMeta):
    "The county and city of the origin"
    __name__ = 'country.subdivision'
