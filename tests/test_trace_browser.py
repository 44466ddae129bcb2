# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The public trace page in a headless Chromium sized like a phone, without
logging in: the QR code's URI of a gift pack of two counties, of a recalled
lot, and the Chinese page of an unknown code.  Screenshots are kept in
var/screenshots.

The database and the trytond server are those of tests/test_trace_http.py
(a database of its own, not the demo: the page is tested whatever the
other modules' demo data); the browser is tests/test_browser.py's (same
requirements: Chromium, chromedriver, selenium; skipped without them
unless CI is set)."""
import os
from urllib.parse import urlsplit

from test_browser import (  # noqa: F401 (fixture)
    VAR, browser, save_screenshot)
from test_trace_http import database, server  # noqa: F401 (fixtures)

try:
    from selenium.webdriver.common.by import By
except ImportError:
    By = None

BACKEND = ("postgresql"
    if os.environ.get("TRYTOND_DATABASE_URI", "").startswith("postgresql")
    else "sqlite")
SCREENSHOTS = VAR / "screenshots"
# A phone's viewport (CSS pixels)
PHONE = (390, 844)


def _screenshot(browser, name):
    save_screenshot(browser, SCREENSHOTS / f"trace-{name}-{BACKEND}.png",
        min_size=5_000)


def _open(browser, server, database, uri):
    "Open the QR code's URI: its path, on the test server"
    path = urlsplit(uri).path
    suffix = path.split("/relief/trace/", 1)[1]
    browser.set_window_size(*PHONE)
    browser.get(f"{server}{database['name']}/relief/trace/{suffix}")
    return browser.find_element(By.TAG_NAME, "body").text


def _fits(browser):
    "No script, and one column that fits the phone's width"
    assert browser.execute_script("return document.scripts.length") == 0
    assert browser.execute_script(
        "return document.documentElement.scrollWidth") <= PHONE[0]


def test_gift_pack_page(server, database, browser):  # noqa: F811
    "A consumer scans the QR code of a gift pack"
    text = _open(browser, server, database, database["lots"]["pack"]["uri"])
    assert "中秋大礼包" in text
    assert "礼包组成" in text
    assert "西安市 周至县" in text and "商洛市 洛南县" in text
    assert "带贫人数" in text
    _fits(browser)
    _screenshot(browser, "pack")


def test_recalled_page(server, database, browser):  # noqa: F811
    "The GS1 Digital Link of a recalled lot shows the warning first"
    lot = database["lots"]["recalled"]
    text = _open(browser, server, database, lot["uri"])
    assert text.index("此批次产品已被召回") < text.index("批次信息")
    alert = browser.find_element(By.CSS_SELECTOR, ".alert")
    assert alert.value_of_css_property("background-color") in {
        "rgba(179, 38, 30, 1)", "rgb(179, 38, 30)"}
    _fits(browser)
    _screenshot(browser, "recalled")


def test_unknown_code_page(server, database, browser):  # noqa: F811
    "A code that is not ours gets the Chinese not-found page"
    text = _open(browser, server, database,
        "http://x/relief/trace/t/AAAAAAAAAAAAAAAA")
    assert "未找到追溯信息" in text
    _fits(browser)
    _screenshot(browser, "404")
