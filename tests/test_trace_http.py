# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The public trace page, served by a real trytond over HTTP.

The test process builds a database with relief_trace (kiwis of 周至县 with a
GTIN, walnuts of 洛南县 without, a gift pack packed from both, sold to a
union and to a member whose names, contact person and phone are in the
database; one kiwi lot recalled, one walnut lot of a delisted product),
starts trytond on it and requests the pages as a phone would: by trace code
and by GS1 Digital Link URI.  It checks what the page shows (origin,
certificate, inspection, 带贫人数, the components of a gift pack, the
warnings), what it never shows (customers, members, contact people, phone
numbers), the Chinese 404 of unknown and malformed codes (malformed ones
answered before the database is even looked up: they get the page's 404
for a database that does not exist) and of lots without a page (a product
that is not traced, a lot without origin), the Cache-Control header, and
that no answer may be framed by another site (Content-Security-Policy
frame-ancestors and X-Frame-Options).  The rendered pages are kept by the
server: conditional GETs get 304, and a change made by another process
(the origin, a recall, an origin removed, a lot deleted) shows on the next
requests.  Runs on SQLite and PostgreSQL (TRYTOND_DATABASE_URI)."""
import datetime as dt
import multiprocessing
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dbtools import fresh_database, serve

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
URI = os.environ.get("TRYTOND_DATABASE_URI", "")
BACKEND = "postgresql" if URI.startswith("postgresql") else "sqlite"
LOG = VAR / f"trace-http-{BACKEND}-trytond.log"
# Where the QR codes point (behind a proxy in production)
BASE = "https://trace.example.com/relief/trace"
# Personal data that is in the database and must never be on a page
PERSONAL = ["李四", "西安某某公司工会委员会", "张三", "13800000000",
    "后台 王主管"]
CACHE_CONTROL = "public, max-age=60, must-revalidate"
# A change committed by another process reaches the server's kept pages
# through the database channel (PostgreSQL) or the ir_cache table that each
# transaction reads at its start (SQLite): asynchronous on PostgreSQL, in
# milliseconds.
PROPAGATION = 2


def build(cfg):
    "Fill the database; return the lots' codes and numbers by name"
    from proteus import Model
    from trytond.modules.company.tests.tools import create_company
    from trytond.modules.currency.tests.tools import get_currency
    from trytond.modules.relief_trace.tests.tools import (
        gift_pack, origin_lot, pack_lots, purchase, receive, sale, setup,
        ship)

    create_company(currency=get_currency("CNY", config=cfg), config=cfg)
    w = setup(cfg)
    Configuration = Model.get("relief.configuration")
    configuration = Configuration(1)
    configuration.trace_base_url = BASE
    configuration.save()
    kiwi = origin_lot(w, "ZZ-0901", w["kiwi"], w["kiwi_coop"],
        relief_base="周至县楼观镇猕猴桃种植基地", poor_households=37,
        inspection_date=w["today"] - dt.timedelta(days=8),
        inspection_result="passed", inspection_report="SX-QC-0917")
    recalled = origin_lot(w, "ZZ-0902", w["kiwi"], w["kiwi_coop"])
    walnut = origin_lot(w, "LN-0815", w["walnut"], w["walnut_company"],
        inspection_result="passed")
    receive([purchase(w, w["kiwi_coop"], w["kiwi"], 100),
            purchase(w, w["kiwi_coop"], w["kiwi"], 100)], [kiwi, recalled])
    receive([purchase(w, w["walnut_company"], w["walnut"], 50)], [walnut])
    pack, bom = gift_pack(w)
    Lot = Model.get("stock.lot")
    pack_lot = Lot(number="ZQ-0905", product=pack)
    pack_lot.save()
    # No page: a lot of a product that is not traced, a lot of kiwis never
    # received (no origin)
    untraced = Lot(number="BOX-01", product=w["gift_box"])
    untraced.save()
    no_origin = Lot(number="ZZ-0999", product=w["kiwi"])
    no_origin.save()
    # Changed by the tests of the kept pages
    changing = origin_lot(w, "ZZ-0903", w["kiwi"], w["kiwi_coop"],
        relief_base="周至县一号基地")
    losing = origin_lot(w, "ZZ-0904", w["kiwi"], w["kiwi_coop"],
        relief_base="周至县二号基地")
    pack_lots(pack, bom, 20, {w["kiwi"]: kiwi, w["walnut"]: walnut},
        pack_lot)
    ship(sale(w, w["union"], pack, 5), [pack_lot])
    ship(sale(w, w["member"], w["kiwi"], 2), [kiwi])
    ship(sale(w, w["member"], w["kiwi"], 2), [recalled])
    Recall = Model.get("relief.trace.recall")
    recall = Recall(lot=recalled, reason="抽检不合格")
    recall.click("start")
    # The walnuts are delisted after the packing
    entry = w["entry_walnut_company"]
    entry.reload()
    entry.delist_reason = "quality"
    entry.click("delist")
    lots = {}
    for name, lot in [("kiwi", kiwi), ("recalled", recalled),
            ("walnut", walnut), ("pack", pack_lot), ("untraced", untraced),
            ("no_origin", no_origin), ("changing", changing),
            ("losing", losing)]:
        lot.reload()
        lots[name] = {"code": lot.trace_code, "number": lot.number,
            "uri": lot.trace_uri}
    return lots


@pytest.fixture(scope="module")
def database():
    from trytond import config
    with fresh_database("relief_trace", "relief_trace_http") as (name, cfg):
        lots = build(cfg)
        yield {"name": name, "lots": lots,
            "path": config.get("database", "path")}


def _writer(uri, path, name, connection):
    """Process: make the changes the tests ask for through proteus, as
    another trytond process on the database would (a back office worker)"""
    os.environ.pop("TRYTOND_CONFIG", None)
    os.environ["TRYTOND_DATABASE_URI"] = (
        uri if uri.startswith("postgresql") else "sqlite://")
    os.environ["TRYTOND_DATABASE__PATH"] = path
    # Every process of a database clears the caches the same way
    # (config/production.conf)
    os.environ["TRYTOND_CACHE__CLEAN_TIMEOUT"] = "0"
    from proteus import config
    config.set_trytond(database=name)
    while (command := connection.recv()) is not None:
        change, number, values = command
        if not uri.startswith("postgresql"):
            # trytond compares the ir_cache timestamps by the second on
            # SQLite: a second change in the same second would not reach
            # the server
            time.sleep(1.05 - time.time() % 1)
        try:
            CHANGES[change](number, **values)
        except Exception as exception:
            connection.send(repr(exception))
        else:
            connection.send(None)


def _lot(number):
    from proteus import Model
    Lot = Model.get("stock.lot")
    lot, = Lot.find([("number", "=", number)])
    return lot


def _write_lot(number, **values):
    from proteus import Model
    lot = _lot(number)
    for name, value in values.items():
        if name == "relief_supplier" and value:
            Party = Model.get("party.party")
            value, = Party.find([("name", "=", value)])
        setattr(lot, name, value)
    lot.save()


def _recall_lot(number):
    from proteus import Model
    Recall = Model.get("relief.trace.recall")
    recall = Recall(lot=_lot(number), reason="抽检不合格")
    recall.click("start")


def _delete_lot(number):
    _lot(number).delete()


CHANGES = {"write": _write_lot, "recall": _recall_lot,
    "delete": _delete_lot}


@pytest.fixture(scope="module")
def writer(database):
    "Make a change in another process: writer(change, lot number, **values)"
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_writer, daemon=True, args=(
            URI, database["path"], database["name"], theirs))
    process.start()
    theirs.close()

    def change(name, number, **values):
        ours.send((name, number, values))
        # poll: True also when the writer died (end of file)
        assert ours.poll(300), "the writer process did not answer"
        try:
            error = ours.recv()
        except (EOFError, OSError):
            pytest.fail("the writer process died (its output is above)")
        assert error is None, error
    try:
        yield change
    finally:
        ours.send(None)
        process.join(60)
        if process.is_alive():
            process.kill()


@pytest.fixture(scope="module")
def server(database):
    "Serve the database over HTTP; yield its URL"
    with serve(database["name"], database["path"], LOG) as url:
        yield url


def get(url, method="GET", headers=None):
    "Return status, headers and text of a GET (or a HEAD)"
    request = urllib.request.Request(url, method=method,
        headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return (response.status, response.headers,
                response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode("utf-8")


def page(server, database, path, headers=None):
    return get(f"{server}{database['name']}/relief/trace/{path}",
        headers=headers)


def assert_public(text):
    for value in PERSONAL:
        assert value not in text, value


def assert_not_framed(headers):
    "No other site may show the answer in a frame (clickjacking)"
    policy = [d.strip() for d in headers["Content-Security-Policy"].split(";")]
    assert "frame-ancestors 'none'" in policy, policy
    # the page's own policy is kept
    assert "default-src 'none'" in policy, policy
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_trace_code_page(server, database):
    "The page of a lot by its trace code: origin, certificate, impact"
    lot = database["lots"]["kiwi"]
    status, headers, text = page(server, database, f"t/{lot['code']}")
    assert status == 200, text
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == CACHE_CONTROL
    assert '<html lang="zh-CN">' in text
    assert "<script" not in text
    for expected in ["周至猕猴桃礼盒", "ZZ-0901", "西安市 周至县",
            "周至县猕猴桃专业合作社", "周至县楼观镇猕猴桃种植基地",
            "610124-001", "县扶贫开发办公室", "6101240001", "合格",
            "SX-QC-0917", "<strong>120</strong> 名脱贫群众",
            "<strong>37</strong> 户脱贫户"]:
        assert expected in text, expected
    assert "召回" not in text and "下架" not in text
    assert_public(text)
    assert_not_framed(headers)


def test_head(server, database):
    "A HEAD of a page has the page's headers"
    lot = database["lots"]["kiwi"]
    status, headers, text = get(
        f"{server}{database['name']}/relief/trace/t/{lot['code']}",
        method="HEAD")
    assert status == 200 and text == ""
    assert headers["Cache-Control"] == CACHE_CONTROL
    assert_not_framed(headers)


def test_method_not_allowed(server, database):
    "Another method than GET or HEAD is refused, with the headers too"
    lot = database["lots"]["kiwi"]
    status, headers, _ = get(
        f"{server}{database['name']}/relief/trace/t/{lot['code']}",
        method="POST")
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"
    assert_not_framed(headers)


def test_digital_link_page(server, database):
    "The GS1 Digital Link URI of the QR code opens the same page"
    lot = database["lots"]["kiwi"]
    assert lot["uri"] == BASE + "/01/06901234567892/10/ZZ-0901"
    status, headers, text = page(
        server, database, "01/06901234567892/10/ZZ-0901")
    assert status == 200, text
    assert "SX-QC-0917" in text
    assert_public(text)
    assert_not_framed(headers)


def test_gift_pack_page(server, database):
    "A gift pack shows each component with its own origin"
    lot = database["lots"]["pack"]
    status, headers, text = page(server, database, f"t/{lot['code']}")
    assert status == 200, text
    assert_not_framed(headers)
    assert "礼包组成" in text
    for expected in ["中秋大礼包", "ZQ-0905", "周至猕猴桃礼盒", "周至县",
            "ZZ-0901", "洛南核桃", "洛南县", "LN-0815",
            "洛南县秦核桃业有限公司", "611021-001"]:
        assert expected in text, expected
    # Its walnuts were delisted since
    assert "已从消费帮扶推荐目录下架" in text
    assert_public(text)


def test_recalled_page(server, database):
    "A recalled lot shows a prominent warning"
    lot = database["lots"]["recalled"]
    status, headers, text = page(server, database, f"t/{lot['code']}")
    assert status == 200, text
    assert_not_framed(headers)
    assert 'class="alert" role="alert">⚠ 此批次产品已被召回' in text
    assert_public(text)


def test_delisted_page(server, database):
    "A delisted product shows a warning"
    lot = database["lots"]["walnut"]
    status, headers, text = page(server, database, f"t/{lot['code']}")
    assert status == 200, text
    assert_not_framed(headers)
    assert "已从消费帮扶推荐目录下架" in text
    assert "召回" not in text


@pytest.mark.parametrize("path", [
        "t/AAAAAAAAAAAAAAAA",  # well formed, unknown
        "01/06901234567892/10/ZZ-9999",  # unknown lot of a known GTIN
        "01/00000000000000/10/ZZ-0901",  # valid check digit, unknown GTIN
        ])
def test_unknown_code(server, database, path):
    "An unknown code gets the Chinese 404 page"
    status, headers, text = page(server, database, path)
    assert status == 404
    assert "未找到追溯信息" in text
    assert headers["Cache-Control"] == "public, max-age=60"
    assert_not_framed(headers)


@pytest.mark.parametrize("name", ["untraced", "no_origin"])
def test_lot_without_page(server, database, name):
    """A lot of a product that is not traced, or without origin, gets the
    Chinese 404 page, by trace code and by Digital Link"""
    lot = database["lots"][name]
    paths = [f"t/{lot['code']}"]
    if name == "no_origin":
        paths.append(f"01/06901234567892/10/{lot['number']}")
    for path in paths:
        status, headers, text = page(server, database, path)
        assert status == 404, (path, text)
        assert "未找到追溯信息" in text
        assert headers["Cache-Control"] == "public, max-age=60"
        assert_not_framed(headers)


@pytest.mark.parametrize("path", [
        "t/short",
        "t/AAAAAAAAAAAAAAAAA",  # 17 characters
        "t/AAAAAAAA'--AAAAA",
        "t/%E6%B1%89%E5%AD%97%E6%B1%89%E5%AD%97%E6%B1%89%E5%AD%97",
        "01/06901234567893/10/ZZ-0901",  # wrong check digit
        "01/6901234567892/10/ZZ-0901",  # 13 digits
        "01/06901234567892/10/" + "A" * 21,  # lot too long
        "01/06901234567892/10/ZZ%200901",
        ])
def test_malformed_code(server, database, path):
    """A malformed code gets the Chinese 404 before any query: even for a
    database that does not exist, which the server never looks up"""
    for name in [database["name"], "no_such_database"]:
        status, headers, text = get(f"{server}{name}/relief/trace/{path}")
        assert status == 404, (name, path)
        assert "未找到追溯信息" in text
        assert headers["Cache-Control"] == "public, max-age=60"
        assert_not_framed(headers)


def test_unknown_database(server, database):
    "A well-formed code for a database that does not exist is not found"
    status, headers, text = get(
        f"{server}no_such_database/relief/trace/t/AAAAAAAAAAAAAAAA")
    assert status == 404
    assert "未找到追溯信息" in text
    assert_not_framed(headers)


def test_not_modified(server, database):
    """A page has an ETag and a Last-Modified: a phone that has the page
    gets 304, without body and with the headers"""
    path = f"t/{database['lots']['kiwi']['code']}"
    status, headers, text = page(server, database, path)
    assert status == 200, text
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert etag.startswith('"') and len(etag) > 10
    # The same page again: same validators
    _, again, _ = page(server, database, path)
    assert again["ETag"] == etag
    for conditions in [{"If-None-Match": etag},
            {"If-None-Match": f'"other", W/{etag}'},
            {"If-None-Match": "*"},
            {"If-Modified-Since": modified}]:
        status, headers, text = page(server, database, path, conditions)
        assert status == 304, conditions
        assert text == ""
        assert headers["ETag"] == etag
        assert headers["Cache-Control"] == CACHE_CONTROL
        assert_not_framed(headers)
    # If-None-Match decides when both are sent
    for conditions in [{"If-None-Match": '"other"'},
            {"If-None-Match": '"other"', "If-Modified-Since": modified},
            {"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}]:
        status, _, text = page(server, database, path, conditions)
        assert status == 200, conditions
        assert "SX-QC-0917" in text


def _until(server, database, path, check):
    """Request path until check(status, headers, text) holds (a change is
    propagated to the server within PROPAGATION seconds); return the
    answer"""
    deadline = time.monotonic() + PROPAGATION
    while True:
        answer = page(server, database, path)
        if check(*answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.02)


def test_change_shows(server, database, writer):
    """A change of the lot's origin, then its recall, made by another
    process, shows on the page by trace code and by Digital Link: the kept
    pages are cleared, and the old ETag gets the new page"""
    lot = database["lots"]["changing"]
    paths = [f"t/{lot['code']}", f"01/06901234567892/10/{lot['number']}"]
    etags = {}
    for path in paths:
        page(server, database, path)  # kept
        status, headers, text = page(server, database, path)
        assert status == 200, text
        assert "周至县一号基地" in text and "召回" not in text
        etags[path] = headers["ETag"]

    writer("write", lot["number"], relief_base="周至县三号基地",
        inspection_result="failed")
    for path in paths:
        status, headers, text = _until(server, database, path,
            lambda s, h, t: "周至县三号基地" in t)
        assert status == 200, text
        assert "周至县三号基地" in text and "不合格" in text, text
        assert "周至县一号基地" not in text
        assert headers["ETag"] != etags[path]
        status, _, text = page(server, database, path,
            {"If-None-Match": etags[path]})
        assert status == 200 and "周至县三号基地" in text
        etags[path] = headers["ETag"]

    writer("recall", lot["number"])
    for path in paths:
        status, headers, text = _until(server, database, path,
            lambda s, h, t: "召回" in t)
        assert 'role="alert">⚠ 此批次产品已被召回' in text, text
        assert headers["ETag"] != etags[path]
        assert_not_framed(headers)


def test_page_gone(server, database, writer):
    """A kept page whose lot loses its origin, then is deleted, answers the
    404; a 404 is not kept: the origin given back shows again"""
    lot = database["lots"]["losing"]
    path = f"t/{lot['code']}"
    for _ in range(2):
        status, headers, text = page(server, database, path)
        assert status == 200 and "周至县二号基地" in text, text

    writer("write", lot["number"], relief_supplier=None,
        relief_county=None)
    status, headers, text = _until(server, database, path,
        lambda s, h, t: s == 404)
    assert status == 404, text
    assert "未找到追溯信息" in text
    assert headers["Cache-Control"] == "public, max-age=60"
    assert "ETag" not in headers
    assert_not_framed(headers)

    writer("write", lot["number"], relief_supplier="周至县猕猴桃专业合作社")
    status, _, text = _until(server, database, path,
        lambda s, h, t: s == 200)
    assert status == 200 and "周至县二号基地" in text, text

    writer("delete", lot["number"])
    status, _, text = _until(server, database, path,
        lambda s, h, t: s == 404)
    assert status == 404 and "未找到追溯信息" in text
