# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The plumbing of relief's JSON routes of trytond's application (the
member mall's API, the counters' device feeds): every answer is JSON,
every refusal has a stable code and a Chinese message, and no route
answers a page: the database giving up is answered `busy` (503, the
client may send again), a fault is logged with its trace and answered
`internal` without it."""
import hashlib
import hmac
import json
import re
import time
from functools import wraps
from http import HTTPStatus

from werkzeug.exceptions import HTTPException

from trytond import backend
from trytond.protocols.wrappers import Response

from .totals import LOCK_NOT_AVAILABLE, lock_timeout

HEADERS = {
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    }
TIMESTAMP = re.compile(r'[0-9]{1,12}')
# The refusals of every family of routes, answered outside a transaction
# (no ir.message to read)
MESSAGES = {
    'body_too_large': "请求体超过 {limit} 字节。",
    'body_invalid': "请求体不是有效的 JSON 对象。",
    'not_found': "没有这个接口。",
    'method_not_allowed': "此接口不接受 {method} 请求。",
    'internal': "服务器内部错误，请稍后再试。",
    'busy': "系统繁忙，请稍后再试。",
    }


# What another transaction's locks cause (PostgreSQL's SQLSTATE): worth
# trying again; a query cancelled by its timeout or a lost connection is not
CONTENDED = {
    LOCK_NOT_AVAILABLE,
    '40001',  # serialization_failure
    '40P01',  # deadlock_detected
    }


def contended(exception):
    "Tell whether the database gave up because of another's locks"
    return (getattr(exception, 'sqlstate', None) in CONTENDED
        # SQLite: another connection writes
        or 'database is locked' in str(exception))


# No text of a request may hold them: PostgreSQL refuses NUL in text (a
# raw DataError), the others belong to no name, address or note
CONTROL = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]')


def control_path(value, path=()):
    """Return the path (keys and indexes) of the first string of value
    (a key or a value) holding a control character, or None.  A loop, not
    a recursion: a payload nested as deep as the JSON parser allows stays
    within the interpreter's stack"""
    stack = [(value, path)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if CONTROL.search(value):
                return path
            continue
        if isinstance(value, dict):
            items = list(value.items())
        elif isinstance(value, list):
            items = list(enumerate(value))
        else:
            continue
        for key, _ in items:
            if isinstance(key, str) and CONTROL.search(key):
                return path + (key,)
        # The first item on top: found in the order of the payload
        stack.extend((item, path + (key,)) for key, item in reversed(items))
    return None


def field_name(path):
    "The dotted name of path: items.0.name as items[0].name"
    field = ''
    for part in path:
        field += '[%d]' % part if isinstance(part, int) else (
            ('.' if field else '') + str(part))
    return field


def signed(request, secret, window):
    """Tell whether request is signed with secret: X-Relief-Timestamp (Unix
    seconds, within window seconds of now) and X-Relief-Signature, the hex
    HMAC-SHA256 of "<timestamp>.<body>\""""
    timestamp = request.headers.get('X-Relief-Timestamp', '')
    signature = request.headers.get('X-Relief-Signature', '')
    if (not TIMESTAMP.fullmatch(timestamp)
            or abs(time.time() - int(timestamp)) > window):
        return False
    message = timestamp.encode() + b'.' + request.get_data(cache=True)
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.lower())


class JsonRoutes:
    """The answers of a family of routes: error is the exception class of
    their refusals (status, code, message, field and json()), messages the
    texts of their own refusals made outside a transaction, by code, beside
    MESSAGES"""

    def __init__(self, error, messages, max_body, logger):
        self.error = error
        self.messages = {**MESSAGES, **messages}
        self.max_body = max_body
        self.logger = logger

    def json(self, body, status=HTTPStatus.OK, headers=None):
        response = Response(
            json.dumps(body, ensure_ascii=False, separators=(',', ':')),
            status=status, content_type='application/json; charset=utf-8')
        response.headers.update(HEADERS)
        response.headers.update(headers or {})
        return response

    def refusal(self, status, code, field=None, **kwargs):
        "The refusal of code, its message formatted with kwargs"
        return self.error(
            status, code, self.messages[code].format(**kwargs), field)

    def answer(self, func):
        "Answer the route's JSON, or its refusal as JSON: never a page"
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            try:
                return func(request, *args, **kwargs)
            except self.error as error:
                return self.json(error.json(), error.status)
            except HTTPException as exception:
                # with_pool wraps what its function raised
                cause = exception.description
                if isinstance(cause, self.error):
                    return self.json(cause.json(), cause.status)
                elif isinstance(cause, backend.DatabaseOperationalError):
                    return self.busy(request, cause)
                elif isinstance(cause, Exception):
                    return self.fault(request, cause)
                error = self.http_error(request, exception)
                return self.json(error.json(), error.status)
            except backend.DatabaseOperationalError as exception:
                return self.busy(request, exception)
            except Exception as exception:
                return self.fault(request, exception)
        # The body limit of the routes (trytond refuses larger ones); known
        # here, trytond also stops looking for a user session in the request
        wrapper.max_request_size = self.max_body
        return wrapper

    def caught(self, func):
        """Answer the refusals of func (under with_transaction, which has
        rolled back) as JSON: with_pool would answer them as an HTML page.

        A lock that Tryton takes without waiting (a journal's period made by
        the first move of the month, a strict sequence) and that another
        transaction holds, the queue's worker posting an invoice say, makes
        with_transaction give up after [database] retry quick tries: func is
        called again, pausing longer each time, for [relief] lock_timeout
        seconds before the client is told `busy`."""
        @wraps(func)
        def wrapper(request, pool, *args, **kwargs):
            deadline = time.monotonic() + lock_timeout()
            pause = 0.05
            while True:
                try:
                    return func(request, pool, *args, **kwargs)
                except self.error as error:
                    return self.json(error.json(), error.status)
                except backend.DatabaseOperationalError as exception:
                    if (not contended(exception)
                            or time.monotonic() + pause > deadline):
                        return self.busy(request, exception)
                    self.logger.info("database busy on %s: again in %.2f s",
                        request.path, pause)
                    time.sleep(pause)
                    pause = min(pause * 2, 2)
                except HTTPException:
                    raise
                except Exception as exception:
                    return self.fault(request, exception)
        return wrapper

    def busy(self, request, exception):
        "The database gave up (retries spent): the client may send again"
        self.logger.warning("database busy on %s", request.path,
            exc_info=exception)
        error = self.refusal(HTTPStatus.SERVICE_UNAVAILABLE, 'busy')
        return self.json(error.json(), error.status,
            headers={'Retry-After': '1'})

    def fault(self, request, exception):
        "A bug: logged with its trace, answered without it"
        self.logger.error("fault on %s", request.path, exc_info=exception)
        error = self.refusal(HTTPStatus.INTERNAL_SERVER_ERROR, 'internal')
        return self.json(error.json(), error.status)

    def http_error(self, request, exception):
        "The refusal of werkzeug's HTTP error"
        if exception.code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
            return self.refusal(
                exception.code, 'body_too_large', limit=self.max_body)
        if exception.code == HTTPStatus.METHOD_NOT_ALLOWED:
            return self.refusal(exception.code, 'method_not_allowed',
                method=request.method)
        if exception.code == HTTPStatus.NOT_FOUND:
            return self.refusal(exception.code, 'not_found')
        return self.refusal(exception.code, 'body_invalid')
