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
import json
import logging
import time
from decimal import Decimal
from http import HTTPStatus

from werkzeug.exceptions import HTTPException

from trytond import backend
from trytond.exceptions import UserError, UserWarning
from trytond.model.exceptions import AccessError
from trytond.modules.relief.jsonroute import (
    JsonRoutes, control_path, field_name, signed)
from trytond.protocols.wrappers import with_pool, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app

from .feed import MAX_SALES, FeedRefusal

logger = logging.getLogger(__name__)

PREFIX = '/<database_name>/relief/counter/v1/points/<device>'
MAX_BODY = 1024 * 1024
SIGNATURE_WINDOW = 300  # seconds between the device's clock and ours
TAKE_ATTEMPTS = 4
# Refusals answered outside a transaction (no ir.message to read),
# beside jsonroute's
MESSAGES = {
    'unauthorized': "设备号未知，或请求签名无效、已过期。",
    'batch_invalid': "字段 sales 必须是 1 到 {limit} 笔销售的列表。",
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


ROUTES = JsonRoutes(FeedError, MESSAGES, MAX_BODY, logger)
_json, _refusal = ROUTES.json, ROUTES.refusal
_answer, _caught = ROUTES.answer, ROUTES.caught


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
    # PostgreSQL refuses a NUL in text (a raw DataError): refused before
    # anything is read, as the mall does
    path = control_path(payload)
    if path is not None:
        field = field_name(path) or 'body'
        raise FeedError(HTTPStatus.UNPROCESSABLE_ENTITY, 'invalid',
            "字段 %s：不能含控制字符。" % field, field)
    return payload


def _check_signature(request, secret):
    "Refuse a request whose timestamp and body are not signed by secret"
    if not signed(request, secret, SIGNATURE_WINDOW):
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
