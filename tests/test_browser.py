# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Log in to the web client (sao) with a real browser: the back office opens
the catalogue of the demo, the union accountant of 周至县 the compliance of
their unions and of no other.

Needs Chromium, chromedriver and selenium; skipped without them unless CI
is set, where a missing piece is a failure.  The demo database
relief_browser (relief_browser_pg on PostgreSQL) is built on first use
(a minute or two) and then reused."""
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import dbtools

try:
    from selenium import webdriver
    from selenium.common.exceptions import (
        StaleElementReferenceException, TimeoutException)
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    webdriver = None

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
SAO = VAR / "sao" / "package"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# scripts/demo keeps one credentials file per name, whatever the backend: a
# name of its own on PostgreSQL keeps the SQLite database's passwords valid.
DATABASE = "relief_browser" + (
    "_pg" if os.environ.get("TRYTOND_DATABASE_URI", "").startswith("postgres")
    else "")
LOGIN = "backoffice"
ACCOUNTANT = "accountant"
UNIONS_MENU = ("工会", "Unions")
COMPLIANCE_MENU = ("消费帮扶合规", "Fund-Rule Compliance")
ALL_TAB = ("全部", "All")
# The level column's labels, which end like union names
LEVELS = {"省总工会", "市（区）总工会", "县（区）总工会", "省级产业工会",
    "单列单位工会", "基层工会"}
# scripts/demo/relief_union.py: the accountant's union
OWN_UNION = "周至县总工会"
ROOT_MENU = ("消费帮扶", "Consumption Assistance")
CATALOGUE_MENU = ("推荐目录", "Catalogue")
# A product of the demo as the catalogue shows it: "[FP610124001] 周至…"
# (scripts/demo/relief_certification.py)
LISTED_PRODUCT = re.compile(r"^\[FP61\d+\] \S")
# Per database: scripts/test runs both backends at once.
LOG = VAR / f"{DATABASE}-trytond.log"
SCREENSHOT = VAR / "screenshots" / f"{DATABASE}-catalogue.png"
CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def _missing():
    if not CHROMIUM.exists():
        yield f"{CHROMIUM} is missing (apt-get install chromium)"
    if not CHROMEDRIVER.exists():
        yield f"{CHROMEDRIVER} is missing (apt-get install chromium-driver)"
    if webdriver is None:
        yield "selenium is not installed (pip install selenium)"
    if not (SAO / "index.html").exists():
        yield ("the web client is missing from var/sao "
            "(bash -c 'source scripts/common.sh; ensure_sao')")


_reasons = "; ".join(_missing())
if _reasons and not CI:
    pytest.skip(_reasons, allow_module_level=True)


def _log_tail(lines=40, log=LOG):
    if not log.exists():
        return "(no log)"
    text = log.read_text(errors="replace").splitlines()[-lines:]
    return f"--- tail of {log} ---\n" + "\n".join(text)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    "Serve the demo database with sao; yield (url, credentials)"
    env = dict(os.environ)
    env.setdefault("TRYTOND_DATABASE__PATH", str(VAR / "db"))
    credentials = build_demo(env, LOG)
    with serve_demo(DATABASE, env, LOG) as url:
        yield url, credentials


def build_demo(env, log):
    """Build the demo database DATABASE unless it is built and current;
    return its credentials {login: password}"""
    if _reasons:
        # CI must exercise the browser: a skip would hide a broken image.
        # (Failing here, not at import, lets the other tests run.)
        pytest.fail(f"CI is set but the browser test cannot run: {_reasons}",
            pytrace=False)
    return dbtools.build_demo(DATABASE, env, log)


@contextlib.contextmanager
def serve_demo(name, env, log):
    "Serve database name with sao, trytond's output in log; yield its URL"
    port = _free_port()
    env = dict(env, TRYTOND_WEB__LISTEN=f"127.0.0.1:{port}",
        TRYTOND_WEB__ROOT=str(SAO),
        TRYTOND_CONFIG=str(ROOT / "config" / "trytond.conf"))
    url = f"http://127.0.0.1:{port}/"
    # config/trytond.conf names port 8000 and a file beats the environment,
    # so a second file, read last, moves the server to the free port.
    listen = VAR / f"{name}-trytond.conf"
    listen.write_text(f"[web]\nlisten = 127.0.0.1:{port}\n")
    # -d loads the database's pool at start-up: trytond 8.0.12 answers a
    # first login to a database it has not loaded with KeyError 'res.user'.
    with log.open("a") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "trytond"),
                "-c", "config/trytond.conf", str(listen), "-d", name],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        dbtools.wait_loaded(url, name, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def browser():
    profile = tempfile.mkdtemp(prefix="relief-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # Without the background-networking flags Chromium tries to reach the
    # internet, which this closed network refuses.
    for flag in ["--headless", "--no-sandbox", "--disable-gpu",
            "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            # wide enough for sao to show the menu beside the tabs
            "--window-size=1400,900"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(
        service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _menu_rows(driver):
    "The menu rows shown as (row, label, depth), depth 0 for the top level"
    return driver.execute_script("""
        return [...document.querySelectorAll('#menu table.tree > tbody > tr')]
            .map(tr => {
                const img = tr.querySelector('.expander img');
                const depth = img ? parseFloat(img.style.marginLeft) || 0 : 0;
                return [tr, tr.innerText.trim(), depth];
            });""")


def _children(driver, label, depth=0):
    "The rows just below the entry label at depth"
    rows = _menu_rows(driver)
    start = next(i for i, (_, text, d) in enumerate(rows)
        if text == label and d == depth)
    children = []
    for row in rows[start + 1:]:
        if row[2] <= depth:
            break
        if row[2] == min(r[2] for r in rows[start + 1:] if r[2] > depth):
            children.append(row)
    return children


def _checker(browser):
    "Return check(condition, what): wait for condition or fail with a shot"
    # The list is redrawn while it loads: read it again then
    wait = WebDriverWait(browser, 30,
        ignored_exceptions=[StaleElementReferenceException])

    def check(condition, what):
        try:
            return wait.until(condition)
        except Exception:
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(SCREENSHOT.with_name(
                f"{DATABASE}-failure.png")))
            pytest.fail(f"{what} (see var/screenshots/"
                f"{DATABASE}-failure.png)\n" + _log_tail())
    return check


def _log_in(browser, url, login, password, database=DATABASE):
    "Log in and return the label of the top menu entry of the programme"
    check = _checker(browser)
    # The hash names the database, so the dialog needs no choice of one.
    browser.get(url + "#" + database)
    entry = check(EC.visibility_of_element_located((By.ID, "login")),
        "the login dialog did not show")
    entry.send_keys(login)
    # The dialog shows before it answers its button (sao asks the server
    # for the databases first): a click too early does nothing, so click
    # again until the password is asked for
    button = entry.find_element(By.XPATH,
        "./ancestor::div[contains(@class, 'panel-body')]//button")
    asked = EC.visibility_of_element_located((By.ID, "ask-dialog-entry"))
    for _ in range(6):
        try:
            if button.is_enabled():
                button.click()
        except StaleElementReferenceException:
            pass  # the dialog is gone: logging in
        try:
            entry = WebDriverWait(browser, 5).until(asked)
            break
        except TimeoutException:
            continue
    else:
        entry = check(asked, "the password dialog did not show")
    entry.send_keys(password, Keys.ENTER)
    return check(lambda d: next((text for _, text, depth in _menu_rows(d)
                if depth == 0 and text in ROOT_MENU), None),
        f"the menu has no entry {' or '.join(ROOT_MENU)}")


def _open(browser, path):
    "Open the menu entries of path (labels, each a tuple of choices)"
    check = _checker(browser)
    label, depth = path[0], 0
    for choices in path[1:]:
        row = next(row for row, text, d in _menu_rows(browser)
            if text == label and d == depth)
        # A click on the label expands the entry (and never collapses it).
        row.find_element(By.CSS_SELECTOR, "td .cell").click()
        children = check(lambda d: _children(d, label, depth),
            f"{label} shows no child entry")
        label = next((text for _, text, _ in children if text in choices),
            None)
        assert label, f"no entry {' or '.join(choices)}"
        child, _, depth = next(c for c in children if c[1] == label)
    ActionChains(browser).double_click(
        child.find_element(By.CSS_SELECTOR, "td .cell")).perform()
    check(EC.visibility_of_element_located((By.CSS_SELECTOR,
                "#tablist > li.active")), f"no tab opened for {label}")
    return label


def _cells(browser):
    "The texts of the cells of the active tab's list"
    return [cell.text for cell in browser.find_elements(By.CSS_SELECTOR,
            "#tabcontent > .tab-pane.active table.tree td")]


def save_screenshot(browser, path, min_size=20_000):
    "Save a screenshot to path; check it is a PNG that is not blank"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    assert browser.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > min_size, "the screenshot looks blank"


def test_back_office_opens_the_catalogue(server, browser):
    url, credentials = server
    check = _checker(browser)
    root = _log_in(browser, url, LOGIN, credentials[LOGIN])
    label = _open(browser, [root, CATALOGUE_MENU])
    # The listed products of the demo, newest listing first
    check(lambda d: len([text for text in _cells(d)
                if LISTED_PRODUCT.search(text)]) >= 10,
        f"the {label} tab does not list the demo's products")
    assert browser.find_element(By.CSS_SELECTOR, "#menu").is_displayed()
    save_screenshot(browser, SCREENSHOT)


def test_accountant_sees_own_unions(server, browser):
    "The accountant of 周至县 sees its unions' compliance and no other's"
    url, credentials = server
    check = _checker(browser)
    root = _log_in(browser, url, ACCOUNTANT, credentials[ACCOUNTANT])
    label = _open(browser, [root, UNIONS_MENU, COMPLIANCE_MENU])
    # The first tab lists the unions that do not comply: show them all
    tab = check(lambda d: next((a for a in d.find_elements(By.CSS_SELECTOR,
                    "#tabcontent > .tab-pane.active .nav-tabs a")
                if a.text.strip() in ALL_TAB), None),
        f"the {label} tab has no tab {' or '.join(ALL_TAB)}")
    tab.click()
    cells = check(lambda d: (cells := _cells(d)) and OWN_UNION in cells
        and cells, f"the {label} tab does not show {OWN_UNION}")
    unions = [text for text in cells
        if text.endswith("工会") and text not in LEVELS]
    assert len(unions) >= 5, unions
    # Names of the other counties' and cities' unions of the demo
    others = [text for text in unions
        if text.endswith("总工会") and text != OWN_UNION]
    assert not others, f"the accountant sees other federations: {others}"
    save_screenshot(browser,
        SCREENSHOT.with_name(f"{DATABASE}-accountant.png"))


@pytest.mark.parametrize("login",
    ["admin", "backoffice", "finance", "accountant"])
def test_menu_in_chinese(server, browser, login):
    """Every menu entry the role sees, all unfolded, is in Chinese: no Latin
    word but the names tests/test_translations.py MENU_NAMES lists"""
    from test_translations import menu_latin_words

    url, credentials = server
    check = _checker(browser)
    _log_in(browser, url, login, credentials[login])
    # Rows as (label, depth, has children); unfold them top down: the
    # children of row i come right after it, the rows above do not move.
    rows_js = """
        return [...document.querySelectorAll('#menu table.tree > tbody > tr')]
            .map(tr => {
                const img = tr.querySelector('.expander img');
                const span = tr.querySelector('.expander');
                return [tr.innerText.trim(),
                    img ? parseFloat(img.style.marginLeft) || 0 : 0,
                    !!span && getComputedStyle(span).visibility === 'visible'];
            });"""
    i = 0
    while i < len(rows := browser.execute_script(rows_js)):
        label, depth, folder = rows[i]
        if folder and (i + 1 == len(rows) or rows[i + 1][1] <= depth):
            browser.execute_script("""document.querySelectorAll(
                '#menu table.tree > tbody > tr')[arguments[0]]
                .querySelector('.expander').click();""", i)
            check(lambda d: (r := d.execute_script(rows_js))[i][0] == label
                and i + 1 < len(r) and r[i + 1][1] > depth,
                f"the menu entry {label} did not unfold")
        i += 1
    labels = [label for label, _, _ in rows]
    assert len(labels) > 10, labels
    latin = {label: words for label in labels
        if (words := menu_latin_words(label))}
    assert not latin, f"{login} sees menu entries with Latin words: {latin}"
