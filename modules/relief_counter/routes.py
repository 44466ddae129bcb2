# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The devices' feeds (feed.py), called by a smart cabinet's operator
system or a counter's till:

    POST /<database>/relief/counter/v1/points/<device>/sales
    POST /<database>/relief/counter/v1/points/<device>/counts

A request is signed with the point's secret: X-Relief-Timestamp (Unix
seconds, within 5 minutes of the server's clock) and X-Relief-Signature,
the hex HMAC-SHA256 of "<timestamp>.<body>".  A call runs as the counters'
channel user (inactive, group "Counter Device Channel", which no login
reaches) with access checks on, in the point's company, in Chinese.  Every
answer is JSON: a batch is answered sale by sale (taken, already_taken,
refused naming the row and field); a refusal of the whole request has a
stable code and a Chinese message; no route answers a 500 page (a fault is
logged and answered as `internal`)."""
import hashlib
import hmac
import json
import logging
import re
import time
from decimal import Decimal
from functools import wraps
from http import HTTPStatus

from werkzeug.exceptions import HTTPException

from trytond import backend
from trytond.exceptions import UserError, UserWarning
from trytond.model.exceptions import AccessError
from trytond.protocols.wrappers import Response, with_pool, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app

from .feed import MAX_SALES, FeedRefusal

logger = logging.getLogger(__name__)

PREFIX = '/<database_name>/relief/counter/v1/points/<device>'
MAX_BODY = 1024 * 1024
SIGNATURE_WINDOW = 300  # seconds between the device's clock and ours
TAKE_ATTEMPTS = 4
HEADERS = {
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    }
# Refusals answered outside a transaction (no ir.message to read)
MESSAGES = {
    'unauthorized': "设备号未知，或请求签名无效、已过期。",
    'body_too_large': "请求体超过 {limit} 字节。",
    'body_invalid': "请求体不是有效的 JSON 对象。",
    'batch_invalid': "字段 sales 必须是 1 到 {limit} 笔销售的列表。",
    'not_found': "没有这个接口。",
    'method_not_allowed': "此接口不接受 {method} 请求。",
    'internal': "服务器内部错误，请稍后再试。",
    'busy': "系统繁忙，请稍后再试。",
    }


class FeedError(Exception):
    "A refusal of the whole request"

    def __init__(self, status, code, message, field=None):
        super().__init__(message)
        self.status, self.code = status, code
        self.message, self.field = message, field

    def json(self):
        body = {'error': self.code, 'message': self.message}
        if self.field:
            body['field'] = self.field
        return body


def _refusal(status, code, field=None, **kwargs):
    return FeedError(status, code, MESSAGES[code].format(**kwargs), field)


def _json(body, status=HTTPStatus.OK, headers=None):
    response = Response(
        json.dumps(body, ensure_ascii=False, separators=(',', ':')),
        status=status, content_type='application/json; charset=utf-8')
    response.headers.update(HEADERS)
    response.headers.update(headers or {})
    return response


def _answer(func):
    "Answer the route's JSON, or its refusal as JSON: never a page"
    @wraps(func)
    def wrapper(request, *args, **kwargs):
        try:
            return func(request, *args, **kwargs)
        except FeedError as error:
            return _json(error.json(), error.status)
        except HTTPException as exception:
            # with_pool wraps what its function raised
            cause = exception.description
            if isinstance(cause, FeedError):
                return _json(cause.json(), cause.status)
            elif isinstance(cause, backend.DatabaseOperationalError):
                return _busy(request, cause)
            elif isinstance(cause, Exception):
                return _fault(request, cause)
            error = _http_error(request, exception)
            return _json(error.json(), error.status)
        except backend.DatabaseOperationalError as exception:
            return _busy(request, exception)
        except Exception as exception:
            return _fault(request, exception)
    # trytond refuses larger bodies (and looks for no user session)
    wrapper.max_request_size = MAX_BODY
    return wrapper


def _caught(func):
    """Answer the refusals of func (under with_transaction, which has
    rolled back) as JSON: with_pool would answer them as an HTML page"""
    @wraps(func)
    def wrapper(request, pool, *args, **kwargs):
        try:
            return func(request, pool, *args, **kwargs)
        except FeedError as error:
            return _json(error.json(), error.status)
        except backend.DatabaseOperationalError as exception:
            return _busy(request, exception)
        except HTTPException:
            raise
        except Exception as exception:
            return _fault(request, exception)
    return wrapper


def _busy(request, exception):
    "The database gave up (retries spent): the device may send again"
    logger.warning("counter feed: database busy on %s", request.path,
        exc_info=exception)
    error = _refusal(HTTPStatus.SERVICE_UNAVAILABLE, 'busy')
    return _json(error.json(), error.status, headers={'Retry-After': '1'})


def _fault(request, exception):
    "A bug: logged with its trace, answered without it"
    logger.error("counter feed: fault on %s", request.path,
        exc_info=exception)
    error = _refusal(HTTPStatus.INTERNAL_SERVER_ERROR, 'internal')
    return _json(error.json(), error.status)


def _http_error(request, exception):
    if exception.code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
        return _refusal(exception.code, 'body_too_large', limit=MAX_BODY)
    if exception.code == HTTPStatus.METHOD_NOT_ALLOWED:
        return _refusal(exception.code, 'method_not_allowed',
            method=request.method)
    if exception.code == HTTPStatus.NOT_FOUND:
        return _refusal(exception.code, 'not_found')
    return _refusal(exception.code, 'body_invalid')


def _body(request):
    "The JSON object of the body (numbers with a fraction as Decimal)"
    try:
        payload = json.loads(request.get_data(cache=True).decode('utf-8'),
            parse_float=Decimal)
    except HTTPException:
        raise
    except Exception:
        raise _refusal(HTTPStatus.BAD_REQUEST, 'body_invalid')
    if not isinstance(payload, dict):
        raise _refusal(HTTPStatus.BAD_REQUEST, 'body_invalid')
    return payload


def _check_signature(request, secret):
    "Refuse a request whose timestamp and body are not signed by secret"
    timestamp = request.headers.get('X-Relief-Timestamp', '')
    signature = request.headers.get('X-Relief-Signature', '')
    if (not re.fullmatch(r'[0-9]{1,12}', timestamp)
            or abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW):
        raise _refusal(HTTPStatus.UNAUTHORIZED, 'unauthorized')
    message = timestamp.encode() + b'.' + request.get_data(cache=True)
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.lower()):
        raise _refusal(HTTPStatus.UNAUTHORIZED, 'unauthorized')


def _call(request, pool, device, func, *args):
    """Authenticate the device, then call func(point, *args) as the
    channel user; a Tryton refusal becomes a JSON refusal"""
    try:
        Point = pool.get('sale.point')
        ModelData = pool.get('ir.model.data')
    except KeyError:
        raise _refusal(HTTPStatus.NOT_FOUND, 'not_found')
    if 'feed_device' not in Point._fields:
        # relief_counter is not activated in this database
        raise _refusal(HTTPStatus.NOT_FOUND, 'not_found')
    point = Point.from_device(device)
    if point is None:
        raise _refusal(HTTPStatus.UNAUTHORIZED, 'unauthorized')
    secret = point.feed_secret
    if not secret:
        raise _refusal(HTTPStatus.UNAUTHORIZED, 'unauthorized')
    _check_signature(request, secret)
    transaction = Transaction()
    transaction.set_user(ModelData.get_id(
            'relief_counter', 'user_counter_channel'))
    with transaction.set_context(company=point.company.id,
            language='zh_CN', _check_access=True):
        point = Point(point.id)
        try:
            return func(point, *args)
        except FeedRefusal as refusal:
            raise FeedError(HTTPStatus.UNPROCESSABLE_ENTITY, 'refused',
                refusal.message, refusal.field)
        except (UserError, UserWarning) as exception:
            raise _user_refusal(exception)


def _user_refusal(exception):
    status, code = HTTPStatus.CONFLICT, 'refused'
    if isinstance(exception, AccessError):
        status, code = HTTPStatus.FORBIDDEN, 'forbidden'
        logger.warning("counter feed: access refused: %s", exception.message)
    return FeedError(status, code, exception.message)


def _route(path, methods):
    def decorator(func):
        return app.route(PREFIX + path, methods=methods)(_answer(func))
    return decorator


@_route('/sales', ['POST'])
@with_pool
@_caught
def sales(request, pool, device):
    "Take the device's sales: each one once, answered one by one"
    payload = _body(request)
    entries = payload.get('sales')
    if not isinstance(entries, list) or not 0 < len(entries) <= MAX_SALES:
        raise _refusal(HTTPStatus.UNPROCESSABLE_ENTITY, 'batch_invalid',
            'sales', limit=MAX_SALES)
    # Taking a batch again is harmless (each sale is taken once): when
    # trytond's retries are spent, the batch is taken again from the start
    for attempt in range(TAKE_ATTEMPTS):
        try:
            return _json(_take(request, pool, device, entries))
        except backend.DatabaseIntegrityError:
            # A sale of the batch taken meanwhile by another request (the
            # point's lock makes it rare): taken again, it is answered
            # already taken
            logger.info("counter feed: %s taken meanwhile", request.path)
        except backend.DatabaseOperationalError as exception:
            if attempt == TAKE_ATTEMPTS - 1:
                raise
            logger.warning("counter feed: %s taken again", request.path,
                exc_info=exception)
            time.sleep(0.1 * (attempt + 1))
    raise _refusal(HTTPStatus.SERVICE_UNAVAILABLE, 'busy')


@with_transaction()
def _take(request, pool, device, entries):
    def take(point):
        Sale = pool.get('sale.point.sale')
        answers, below = Sale.feed_take(point, entries)
        counts = {s: sum(1 for a in answers if a['status'] == s)
            for s in ['taken', 'already_taken', 'refused']}
        return {
            'point': point.rec_name,
            **counts,
            'sales': answers,
            'below_zero': [{'product': p.code, 'name': p.rec_name,
                    'quantity': q} for p, q in below],
            }
    return _call(request, pool, device, take)


@_route('/counts', ['POST'])
@with_pool
@_caught
@with_transaction()
def counts(request, pool, device):
    "Confirm the device's stock count as an inventory of its location"
    payload = _body(request)

    def count(point):
        inventory, lines = point.feed_count(payload)
        return {
            'point': point.rec_name,
            'inventory': inventory.number or inventory.id,
            'lines': [{'product': p.code, 'name': p.rec_name,
                    'expected': e, 'counted': c, 'difference': c - e}
                for p, e, c in lines],
            'differences': sum(1 for _, e, c in lines if c != e),
            }
    return _json(_call(request, pool, device, count), HTTPStatus.CREATED)
