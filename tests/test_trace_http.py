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
frame-ancestors and X-Frame-Options).  Runs on SQLite and PostgreSQL
(TRYTOND_DATABASE_URI)."""
import datetime as dt
import os
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
            ("no_origin", no_origin)]:
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


@pytest.fixture(scope="module")
def server(database):
    "Serve the database over HTTP; yield its URL"
    with serve(database["name"], database["path"], LOG) as url:
        yield url


def get(url, method="GET"):
    "Return status, headers and text of a GET (or a HEAD)"
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return (response.status, response.headers,
                response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode("utf-8")


def page(server, database, path):
    return get(f"{server}{database['name']}/relief/trace/{path}")


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
    assert headers["Cache-Control"] == "public, max-age=300"
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
    assert headers["Cache-Control"] == "public, max-age=300"
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
