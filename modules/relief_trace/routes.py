# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The public trace page that a consumer opens by scanning a QR code.

    /<database>/relief/trace/t/<trace code>
    /<database>/relief/trace/01/<GTIN-14>/10/<lot number>  (GS1 Digital Link)

Anonymous: no login, and nothing personal is shown (see page.py).  A code
is checked against its pattern before anything touches the database, so
that a scanner of random paths costs a regular expression; the query then
runs in a read-only transaction as the inactive user "Public Trace Page",
which has no group and cannot log in.

A rendered page is kept (page.pages, cleared in every process when what it
shows changes); on PostgreSQL a kept page is answered without starting a
transaction.  Each page has an ETag (a hash of its body) and a
Last-Modified (when it was rendered): a phone that has it gets 304."""
import logging
import re
from functools import wraps
from http import HTTPStatus

from werkzeug.exceptions import (
    HTTPException, InternalServerError, MethodNotAllowed, NotFound,
    ServiceUnavailable)

from trytond import backend, config
from trytond.protocols.wrappers import Response, with_pool, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app

from . import page

logger = logging.getLogger(__name__)
TRACE_CODE = re.compile(r'^[A-Za-z0-9_-]{16}$')
GTIN = re.compile(r'^[0-9]{14}$')
# GS1 AI (10) lot: up to 20 characters; here those that need no escaping
# in a URI path segment.
LOT_NUMBER = re.compile(r'^[A-Za-z0-9._-]{1,20}$')
# Scanned pages change when a lot is recalled: short, shared caching,
# then asking again (a 304 when unchanged).
CACHE_CONTROL = 'public, max-age=60, must-revalidate'
CACHE_CONTROL_NOT_FOUND = 'public, max-age=60'
METHODS = {'GET', 'HEAD'}
MAX_REQUEST_SIZE = config.getint('request', 'max_size')


def gtin_valid(gtin):
    "Whether the GS1 check digit of a GTIN-14 is right"
    digits = [int(c) for c in gtin]
    total = sum(d * (3 if i % 2 == 0 else 1)
        for i, d in enumerate(digits[:-1]))
    return (10 - total % 10) % 10 == digits[-1]


# No script, no framing (clickjacking): on every answer of the routes
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'")
HEADERS = {
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    }


def not_found():
    return Response(page.not_found(), status=HTTPStatus.NOT_FOUND,
        content_type='text/html; charset=utf-8',
        headers={'Cache-Control': CACHE_CONTROL_NOT_FOUND})


def _fresh(request, etag, modified):
    """Whether the client's copy is the page: If-None-Match, else
    If-Modified-Since (RFC 9110, 13.1.2 and 13.1.3)"""
    match = request.environ.get('HTTP_IF_NONE_MATCH')
    if match is not None:
        tags = {t.strip().removeprefix('W/') for t in match.split(',')}
        return '*' in tags or etag in tags
    since = request.if_modified_since
    return since is not None and modified <= since.timestamp()


def _page(request, entry):
    "Answer a rendered page, or 304 when the client has it"
    body, etag, modified, last_modified = entry
    headers = {
        'Cache-Control': CACHE_CONTROL,
        'ETag': etag,
        'Last-Modified': last_modified,
        }
    if _fresh(request, etag, modified):
        response = Response(status=HTTPStatus.NOT_MODIFIED, headers=headers)
        del response.headers['Content-Type']
        return response
    return Response(body, content_type='text/html; charset=utf-8',
        headers=headers)


def secured(func):
    """Answer the route's page, the Chinese 404 (also for a database that
    does not exist) or an error, each with the headers.  The route takes
    every method so that a refused one gets them too."""
    @wraps(func)
    def wrapper(request, *args, **kwargs):
        try:
            if request.method not in METHODS:
                raise MethodNotAllowed(valid_methods=sorted(METHODS))
            response = func(request, *args, **kwargs)
        except NotFound:
            response = not_found()
        except HTTPException as exception:
            response = exception.get_response()
        except backend.DatabaseOperationalError:
            logger.debug("trace page %s", request, exc_info=True)
            response = ServiceUnavailable().get_response()
        except Exception:
            logger.exception("trace page %s", request)
            response = InternalServerError().get_response()
        response.headers.update(HEADERS)
        return response
    return wrapper


def anonymous(func):
    """Tell trytond the route's request size (no body is read): else it
    works out request.user_id for it, and would check a session or try a
    login for any Authorization header a scanner sends"""
    func.max_request_size = MAX_REQUEST_SIZE
    return func


@app.route('/<database_name>/relief/trace/t/<code>')
@anonymous
@secured
def trace_code(request, database_name, code):
    if not TRACE_CODE.match(code):
        return not_found()
    return _trace(request, database_name, ('t', code),
        [('trace_code', '=', code)])


@app.route('/<database_name>/relief/trace/01/<gtin>/10/<lot>')
@anonymous
@secured
def digital_link(request, database_name, gtin, lot):
    if not (GTIN.match(gtin) and gtin_valid(gtin) and LOT_NUMBER.match(lot)):
        return not_found()
    return _trace(request, database_name, ('01', gtin, '10', lot), [
            ('number', '=', lot),
            ('product.identifiers', 'where', [
                    ('type', '=', 'ean'),
                    ('code', 'in', {gtin, gtin.lstrip('0'), gtin[1:]}),
                    ]),
            ])


def _trace(request, database_name, code, domain):
    "Answer the page of the lot of domain, kept as code"
    key = page.key(code)
    entry = page.peek(database_name, key)
    if entry is None:
        entry = _render(request, database_name, key, domain)
    if entry is None:
        return not_found()
    return _page(request, entry)


@with_pool
@with_transaction(readonly=True)
def _render(request, pool, key, domain):
    "Return the kept page of key, rendered if needed; None: no page"
    try:
        Lot = pool.get('stock.lot')
        ModelData = pool.get('ir.model.data')
        pool.get('relief.trace.recall')
    except KeyError:
        # relief_trace is not activated in this database
        return None
    entry = page.pages.get(key)
    if entry is not None:
        return entry
    user_id = ModelData.get_id('relief_trace', 'user_trace_public')
    with Transaction().set_user(user_id), \
            Transaction().set_context(active_test=False):
        lots = Lot.search(domain, limit=2)
        if len(lots) != 1:
            return None
        lot, = lots
        data = Lot.relief_public_data(lot)
        if data is None:
            # Not a traced product, or nothing of its origin to show
            return None
        # Kept for the transactions that start after this one only if no
        # change was committed since it started (MemoryCache.set)
        return page.pages.set(key, page.entry(page.render(data)))
