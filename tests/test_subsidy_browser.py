# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A finance user takes a subsidy claim from draft to paid in the web client
(sao): 消费帮扶 / 补贴 / 补贴申领, the demo's draft claim of the special
fund, Send; then the claim's invoice, its Pay wizard with the demo's
payment method and the full amount; the claim, reloaded, is paid.
Screenshots are kept in var/screenshots.

The flow changes the data, so it runs on a copy of the demo database of
tests/test_browser.py (relief_browser, relief_browser_pg on PostgreSQL;
built there on first use), made afresh for each run: the demo itself keeps
its draft claims.  Same requirements as tests/test_browser.py (Chromium,
chromedriver, selenium; skipped without them unless CI is set)."""
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path

import pytest

from test_browser import (  # noqa: F401 (fixture)
    DATABASE, ROOT, VAR, _checker, _log_in, _open, browser,
    build_demo, save_screenshot, serve_demo)

try:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
except ImportError:
    By = None

POSTGRESQL = os.environ.get(
    "TRYTOND_DATABASE_URI", "").startswith("postgres")
BACKEND = "postgresql" if POSTGRESQL else "sqlite"
# The copy the test changes
COPY = "relief_subsidy_browser" + ("_pg" if POSTGRESQL else "")
LOG = VAR / f"{COPY}-trytond.log"
SCREENSHOTS = VAR / "screenshots"
LOGIN = "finance"
SUBSIDY_MENU = ("补贴", "Subsidies")
CLAIM_MENU = ("补贴申领", "Subsidy Claims")
# scripts/demo/relief_subsidy.py: the special fund's programme (its draft
# claim covers today's orders) and the payment method of the finance staff
PROGRAM = "消费帮扶专项经费会员补贴"
PAYMENT_METHOD = "银行转账"
DRAFT = ("草稿", "Draft")
POSTED = ("已入账", "Posted")
SENT = ("已发出", "Sent")
PAID = ("已回款", "Paid")
OK = ("确定", "OK")
CLOSE = ("关闭", "Close")


def _env():
    env = dict(os.environ)
    env.setdefault("TRYTOND_DATABASE__PATH", str(VAR / "db"))
    env["TRYTOND_CONFIG"] = str(ROOT / "config" / "trytond.conf")
    return env


def _pg_execute(sql):
    import psycopg
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(os.environ["TRYTOND_DATABASE_URI"])
    conninfo = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql)


def _copy_demo(env):
    "A fresh copy of the demo database named COPY"
    if POSTGRESQL:
        _pg_execute(f'DROP DATABASE IF EXISTS "{COPY}" WITH (FORCE)')
        # No session may use the template: tests/test_browser.py's server
        # is stopped at the end of its module.
        for attempt in range(20):
            try:
                _pg_execute(
                    f'CREATE DATABASE "{COPY}" TEMPLATE "{DATABASE}"')
                break
            except Exception:
                if attempt == 19:
                    raise
                time.sleep(0.5)
    else:
        # trytond keeps SQLite in WAL mode: copy with the backup API (what
        # the demo's -wal holds too), after removing an earlier copy's -wal
        _drop_copy(env)
        path = Path(env["TRYTOND_DATABASE__PATH"])
        source = sqlite3.connect(path / f"{DATABASE}.sqlite")
        target = sqlite3.connect(path / f"{COPY}.sqlite")
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()


def _drop_copy(env):
    if POSTGRESQL:
        _pg_execute(f'DROP DATABASE IF EXISTS "{COPY}" WITH (FORCE)')
    else:
        path = Path(env["TRYTOND_DATABASE__PATH"])
        for suffix in ["", "-wal", "-shm"]:
            (path / f"{COPY}.sqlite{suffix}").unlink(missing_ok=True)


def _proteus(code, *args):
    "Run code with proteus on the copy (as admin); return what it prints"
    script = textwrap.dedent("""\
        import json, sys, warnings
        from proteus import config, Model
        warnings.filterwarnings('ignore', 'The path specified in the URI')
        name = sys.argv[1]
        database = name if sys.argv[2] == 'postgresql' else f'sqlite:///{name}'
        config.set_trytond(database=database, config_file=sys.argv[3])
        args = sys.argv[4:]
        """) + textwrap.dedent(code)
    result = subprocess.run([sys.executable, "-c", script, COPY, BACKEND,
            str(ROOT / "config" / "trytond.conf"), *map(str, args)],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def server():
    "Serve a copy of the demo database with sao; yield (url, credentials)"
    env = _env()
    credentials = build_demo(env, LOG)
    _copy_demo(env)

    try:
        with serve_demo(COPY, env, LOG) as url:
            yield url, credentials
    finally:
        _drop_copy(env)


# The active tab, and the dialog on top (sao stacks them in the body)
TAB = "#tabcontent > .tab-pane.active"
TOP_DIALOG = """
    const modals = [...document.querySelectorAll('.modal')].filter(
        m => m.offsetParent !== null || getComputedStyle(m).display == 'block');
    return modals.length ? modals[modals.length - 1] : null;"""


def _tab(driver):
    return driver.find_element(By.CSS_SELECTOR, TAB)


def _dialog(driver):
    return driver.execute_script(TOP_DIALOG)


def _value(scope, name):
    "The text a form shows for the field name: an input's or a selection's"
    return scope.parent.execute_script("""
        const field = arguments[0].querySelector('[name="' + arguments[1]
            + '"]:is(input, select, textarea)');
        if (!field) { return null; }
        if (field.tagName == 'SELECT') {
            const option = field.options[field.selectedIndex];
            return option ? option.text.trim() : '';
        }
        return field.value.trim();""", scope, name)


def _button(scope, name):
    "The visible and active form button name in scope, else None"
    for button in scope.find_elements(By.CSS_SELECTOR,
            f'button[name="{name}"]'):
        if button.is_displayed() and button.is_enabled():
            return button
    return None


def _footer_button(driver, labels):
    dialog = _dialog(driver)
    if not dialog:
        return None
    return next((b for b in dialog.find_elements(By.CSS_SELECTOR,
                ".modal-footer button")
            if b.is_displayed() and b.is_enabled()
            and b.text.strip() in labels), None)


def _amount(text):
    return Decimal(text.replace(",", "").replace("¥", "").strip())


def _screenshot(driver, name):
    save_screenshot(driver,
        SCREENSHOTS / f"subsidy-claim-{name}-{BACKEND}.png")


def test_finance_takes_claim_from_draft_to_paid(server, browser):  # noqa: F811
    url, credentials = server
    check = _checker(browser)
    claim_id, amount = _proteus("""
        Claim = Model.get('relief.subsidy.claim')
        claim, = Claim.find([('state', '=', 'draft'),
                ('program.name', 'like', '%' + args[0])])
        print(json.dumps([claim.id, str(claim.amount)]))
        """, PROGRAM)

    root = _log_in(browser, url, LOGIN, credentials[LOGIN], COPY)
    label = _open(browser, [root, SUBSIDY_MENU, CLAIM_MENU])
    # The first tab lists the draft claims: the special fund's
    row = check(lambda d: next((tr for tr in d.find_elements(By.CSS_SELECTOR,
                    f"{TAB} table.tree tbody tr")
                if PROGRAM in tr.text), None),
        f"the {label} tab shows no draft claim of {PROGRAM}")
    # A cell that is no link (the programme's opens the programme)
    cell = next(c for c in row.find_elements(By.CSS_SELECTOR, "td .cell")
        if c.text.strip() and not c.find_elements(By.TAG_NAME, "a"))
    ActionChains(browser).double_click(cell).perform()
    # sao shows a form's buttons before it displays the record (and its
    # buttons' states): wait for the record first
    check(lambda d: _value(_tab(d), "state") in DRAFT,
        "the claim's form does not show the draft claim")
    check(lambda d: _button(_tab(d), "send") or _button(_tab(d), "generate"),
        "the claim's form shows neither Send nor Generate Lines")
    if not _button(_tab(browser), "send"):
        _button(_tab(browser), "generate").click()
    check(lambda d: _button(_tab(d), "send"),
        "the claim has no lines to send")
    assert _value(_tab(browser), "state") not in SENT + PAID
    _button(_tab(browser), "send").click()
    check(lambda d: _value(_tab(d), "state") in SENT
        and _value(_tab(d), "invoice"),
        "the claim did not become sent with an invoice")
    assert not _button(_tab(browser), "send")
    assert _amount(_value(_tab(browser), "amount")) == Decimal(amount)
    _screenshot(browser, "sent")

    # The claim's invoice, in a dialog, and its Pay wizard
    invoice = _tab(browser).find_element(By.CSS_SELECTOR,
        '.form-many2one input[name="invoice"]')
    invoice.find_element(By.XPATH, "..").find_element(By.CSS_SELECTOR,
        ".icon-primary button").click()
    # Clicking Pay before the dialog displays the invoice would make sao
    # save it first, which a posted invoice refuses
    check(lambda d: (dialog := _dialog(d))
        and _value(dialog, "state") in POSTED and _value(dialog, "number"),
        "the claim's invoice does not show as posted")
    pay = check(lambda d: (dialog := _dialog(d)) and _button(dialog, "pay"),
        "the claim's invoice shows no Pay button")
    invoice_dialog = _dialog(browser)
    pay.click()
    method = check(lambda d: (dialog := _dialog(d)) and dialog != invoice_dialog
        and next((s for s in dialog.find_elements(By.CSS_SELECTOR,
                        'select[name="payment_method"]')
                if any(PAYMENT_METHOD in o.text
                    for o in s.find_elements(By.TAG_NAME, "option"))), None),
        f"the Pay wizard offers no payment method {PAYMENT_METHOD}")
    wizard = _dialog(browser)
    Select(method).select_by_visible_text(next(
            o.text for o in method.find_elements(By.TAG_NAME, "option")
            if PAYMENT_METHOD in o.text))
    # The full amount is proposed: pay it
    paid = _amount(_value(wizard, "amount"))
    assert paid == Decimal(amount), (paid, amount)
    check(lambda d: _footer_button(d, OK),
        "the Pay wizard has no OK button").click()
    check(lambda d: _dialog(d) == invoice_dialog,
        "the Pay wizard did not end")
    # Back on the invoice: paid; close it
    check(lambda d: (dialog := _dialog(d)) and not _button(dialog, "pay"),
        "the invoice can still be paid")
    check(lambda d: _footer_button(d, CLOSE + OK),
        "the invoice's dialog cannot be closed").click()
    check(lambda d: not _dialog(d), "the invoice's dialog did not close")

    # Reload the claim: paid
    _tab(browser).find_element(By.CSS_SELECTOR, "button#reload").click()
    check(lambda d: _value(_tab(d), "state") in PAID,
        "the claim did not become paid")
    _screenshot(browser, "paid")

    # And in the database
    states = _proteus("""
        Claim = Model.get('relief.subsidy.claim')
        claim = Claim(int(args[0]))
        print(json.dumps([claim.state, claim.invoice.state,
                    str(claim.invoice.total_amount)]))
        """, claim_id)
    assert states == ["paid", "paid", amount], states
