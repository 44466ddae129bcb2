# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The member mall's API, called by the 陕西工会 app's server:

    /<database>/relief/mall/v1/...     (openapi.json describes it)

A channel authenticates with its shop's API key (Authorization: Bearer),
and, when the shop has a signing secret, signs each request (timestamp and
body, HMAC-SHA256); the payment provider signs its notifications with the
shop's payment secret.  A call runs as the mall's channel user (an
inactive user of group "Member Mall Channel", which no login reaches) with
access checks on, in the shop's company and language; the context of the
caller is never read.  Bodies are checked against openapi.json's schemas
before anything touches the database; every refusal is JSON with a stable
code, a Chinese message and the field, and no route answers 500 (a fault
is logged and answered as the documented `internal` error)."""
import hashlib
import hmac
import json
import logging
import re
from http import HTTPStatus
from pathlib import Path

from jsonschema import Draft4Validator
from werkzeug.exceptions import HTTPException

from trytond import backend
from trytond.exceptions import UserError, UserWarning
from trytond.model.exceptions import AccessError
from trytond.modules.relief.jsonroute import (
    JsonRoutes, control_path, field_name, signed)
from trytond.protocols.wrappers import with_pool, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app

from . import api
from .api import ApiError

logger = logging.getLogger(__name__)

OPENAPI = json.loads(
    (Path(__file__).parent / 'openapi.json').read_text(encoding='utf-8'))
PREFIX = '/<database_name>/relief/mall/v1'
MAX_BODY = 64 * 1024
IDEMPOTENCY_KEY = re.compile(r'^[A-Za-z0-9_.:-]{8,64}$')
ORDER_NUMBER = re.compile(r'^[A-Za-z0-9/_-]{1,40}$')
MEMBER_NUMBER = re.compile(r'^[A-Za-z0-9-]{1,40}$')
# How far a signed request's timestamp may be from now (seconds)
SIGNATURE_WINDOW = 300


def _schema(name):
    "The validator of a schema of openapi.json's components"
    schema = dict(OPENAPI['components']['schemas'][name])
    schema['components'] = OPENAPI['components']
    return Draft4Validator(schema)


VALIDATORS = {n: _schema(n) for n in [
        'QuoteRequest', 'OrderRequest', 'ReturnRequest',
        'PaymentNotification']}


# Refusals answered before a transaction starts (no ir.message to read),
# beside jsonroute's
MESSAGES = {
    'unauthorized': "API 密钥缺失或无效。",
    'signature_invalid': "请求签名无效或已过期。",
    'idempotency_key_invalid': (
        "Idempotency-Key 必须是 8 到 64 个字母、数字或 _.:- 字符。"),
    'parameter_invalid': "参数 {param}：{reason}",
    }
ROUTES = JsonRoutes(ApiError, MESSAGES, MAX_BODY, logger)
_json, _refusal = ROUTES.json, ROUTES.refusal
_answer, _caught = ROUTES.answer, ROUTES.caught


def _body(request, schema):
    "The JSON body of request, valid for schema"
    try:
        data = request.get_data(cache=True)
        payload = json.loads(data.decode('utf-8'))
    except HTTPException:
        raise
    except Exception:
        raise _refusal(HTTPStatus.BAD_REQUEST, 'body_invalid')
    if not isinstance(payload, dict):
        raise _refusal(HTTPStatus.BAD_REQUEST, 'body_invalid')
    errors = sorted(VALIDATORS[schema].iter_errors(payload),
        key=lambda e: list(e.absolute_path))
    if errors:
        raise _invalid(errors[0])
    path = control_path(payload)
    if path is not None:
        field = field_name(path) or 'body'
        raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, 'invalid',
            "字段 %s：不能含控制字符。" % field, field)
    return payload


REASONS = {
    'required': "缺少必填字段 {missing}",
    'type': "类型应为 {expected}",
    'minimum': "不能小于 {limit}",
    'exclusiveMinimum': "必须大于 {limit}",
    'maximum': "不能大于 {limit}",
    'minLength': "至少 {limit} 个字符",
    'maxLength': "最多 {limit} 个字符",
    'minItems': "至少 {limit} 项",
    'maxItems': "最多 {limit} 项",
    'pattern': "格式不对",
    'enum': "应为 {expected} 之一",
    'additionalProperties': "有不认识的字段",
    'multipleOf': "应为 {limit} 的倍数",
    }


def _invalid(error):
    "The refusal of the first schema error, naming its field in Chinese"
    path = list(error.absolute_path)
    missing = ''
    if error.validator == 'required':
        missing = re.findall(r"'([^']+)'", error.message)[:1]
        missing = missing[0] if missing else ''
    field = field_name(path + ([missing] if missing else [])) or 'body'
    value = error.validator_value
    if isinstance(value, list):
        value = ', '.join(map(str, value))
    reason = REASONS.get(error.validator, "不符合要求").format(
        missing=missing, expected=value, limit=value)
    return ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, 'invalid',
        "字段 %s：%s。" % (field, reason), field)


def _query(request, name, pattern=None, default=None, minimum=1,
        maximum=None, integer=False):
    "A query parameter, checked"
    value = request.args.get(name)
    if value is None or value == '':
        return default
    if integer:
        if not re.fullmatch(r'[0-9]{1,9}', value):
            raise _refusal(HTTPStatus.UNPROCESSABLE_ENTITY,
                'parameter_invalid', name, param=name, reason="应为正整数")
        value = int(value)
        if value < minimum or (maximum is not None and value > maximum):
            raise _refusal(HTTPStatus.UNPROCESSABLE_ENTITY,
                'parameter_invalid', name, param=name,
                reason="应在 %s 到 %s 之间" % (minimum, maximum or '∞'))
        return value
    if len(value) > 100 or (pattern and not pattern.fullmatch(value)):
        raise _refusal(HTTPStatus.UNPROCESSABLE_ENTITY,
            'parameter_invalid', name, param=name, reason="格式不对")
    return value


def _key(request):
    header = request.headers.get('Authorization', '')
    if header.startswith('Bearer '):
        return header[len('Bearer '):].strip()
    return request.headers.get('X-Api-Key', '').strip()


def _check_signature(request, secret):
    "Refuse a request whose timestamp and body are not signed by secret"
    if not signed(request, secret, SIGNATURE_WINDOW):
        raise _refusal(HTTPStatus.UNAUTHORIZED, 'signature_invalid')


def _channel(pool, shop):
    "Run as the channel user of shop, with its context only"
    ModelData = pool.get('ir.model.data')
    transaction = Transaction()
    user = ModelData.get_id('relief_mall', 'user_mall_channel')
    transaction.set_user(user)
    return transaction.set_context(
        company=shop.company.id,
        language=shop.language.code if shop.language else 'zh_CN',
        _check_access=True)


def _mall(pool):
    try:
        return pool.get('web.shop'), pool.get('relief.mall.key')
    except KeyError:
        # relief_mall is not activated in this database
        raise _refusal(HTTPStatus.NOT_FOUND, 'not_found')


def _call(request, pool, func, *args):
    """Authenticate the channel, then call func(shop, *args) as its user;
    a Tryton refusal becomes a JSON refusal"""
    Shop, _ = _mall(pool)
    shop = Shop.from_key(_key(request))
    if shop is None:
        raise _refusal(HTTPStatus.UNAUTHORIZED, 'unauthorized')
    if shop.mall_signature_secret:
        _check_signature(request, shop.mall_signature_secret)
    with _channel(pool, shop):
        shop = Shop(shop.id)
        try:
            return func(shop, *args)
        except (UserError, UserWarning) as exception:
            raise _user_refusal(exception)


# Tryton refusals, by class name: (HTTP status, code)
USER_ERRORS = {
    'BudgetError': (HTTPStatus.CONFLICT, 'subsidy_exhausted'),
    'StockError': (HTTPStatus.CONFLICT, 'out_of_stock'),
    'CouponError': (HTTPStatus.UNPROCESSABLE_ENTITY, 'coupon_invalid'),
    'PaymentError': (HTTPStatus.CONFLICT, 'payment_refused'),
    'OrderError': (HTTPStatus.CONFLICT, 'order_refused'),
    'BusyError': (HTTPStatus.CONFLICT, 'busy'),
    }


def _user_refusal(exception):
    status, code = USER_ERRORS.get(type(exception).__name__,
        (HTTPStatus.UNPROCESSABLE_ENTITY, 'refused'))
    if isinstance(exception, AccessError):
        status, code = HTTPStatus.FORBIDDEN, 'forbidden'
        logger.warning("mall: access refused: %s", exception.message)
    return ApiError(status, code, exception.message)


def _route(path, methods):
    def decorator(func):
        return app.route(PREFIX + path, methods=methods)(_answer(func))
    return decorator


@_route('/openapi.json', ['GET'])
def openapi(request, database_name):
    return _json(OPENAPI)


@_route('/products', ['GET'])
@with_pool
@_caught
@with_transaction(readonly=True)
def products(request, pool):
    params = {
        'page': _query(request, 'page', default=1, integer=True,
            maximum=100000),
        'size': _query(request, 'size', default=api.PAGE_SIZE,
            integer=True, maximum=api.MAX_PAGE_SIZE),
        'category': _query(request, 'category', integer=True,
            maximum=2 ** 31 - 1),
        'county': _query(request, 'county'),
        'q': _query(request, 'q'),
        'member': _query(request, 'member', MEMBER_NUMBER),
        }
    return _json(_call(request, pool, api.catalogue, params))


@_route('/members/<number>/limits', ['GET'])
@with_pool
@_caught
@with_transaction(readonly=True)
def member_limits(request, pool, number):
    if not MEMBER_NUMBER.fullmatch(number):
        raise _refusal(HTTPStatus.UNPROCESSABLE_ENTITY,
            'parameter_invalid', 'number', param='number', reason="格式不对")

    def limits(shop):
        member = api.member(shop, number, 'number')
        return {'member': number, 'limits': api.limits(member)}
    return _json(_call(request, pool, limits))


@_route('/quote', ['POST'])
@with_pool
@_caught
@with_transaction(readonly=True)
def quote(request, pool):
    payload = _body(request, 'QuoteRequest')
    return _json(_call(request, pool, api.quote, payload))


def _digest(payload):
    return hashlib.sha256(json.dumps(payload, sort_keys=True,
            ensure_ascii=False, separators=(',', ':')).encode()
        ).hexdigest()


@_route('/orders', ['POST'])
@with_pool
@_caught
def place_order(request, pool):
    key = request.headers.get('Idempotency-Key', '')
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise _refusal(HTTPStatus.BAD_REQUEST, 'idempotency_key_invalid',
            'Idempotency-Key')
    payload = _body(request, 'OrderRequest')
    digest = _digest(payload)
    try:
        body, created = _place(request, pool, key, digest, payload)
    except backend.DatabaseIntegrityError:
        # The same key at the same time: the other request's order
        body, created = _placed(request, pool, key, digest)
    return _json(body, HTTPStatus.CREATED if created else HTTPStatus.OK)


@with_transaction()
def _place(request, pool, key, digest, payload):
    def place(shop):
        sale, created = api.place(shop, key, digest, payload)
        return api.order_json(sale), created
    return _call(request, pool, place)


@with_transaction(readonly=True)
def _placed(request, pool, key, digest):
    def placed(shop):
        sale = api.find(shop, key)
        if sale is None or sale.mall_request != digest:
            raise api._error(HTTPStatus.CONFLICT, 'idempotency_conflict',
                'Idempotency-Key', key=key)
        return api.order_json(sale), False
    return _call(request, pool, placed)


@_route('/orders', ['GET'])
@with_pool
@_caught
@with_transaction(readonly=True)
def member_orders(request, pool):
    member = _query(request, 'member', MEMBER_NUMBER)
    if not member:
        raise _refusal(HTTPStatus.UNPROCESSABLE_ENTITY,
            'parameter_invalid', 'member', param='member', reason="必填")
    page = _query(request, 'page', default=1, integer=True, maximum=100000)
    size = _query(request, 'size', default=api.PAGE_SIZE, integer=True,
        maximum=api.MAX_PAGE_SIZE)
    return _json(_call(request, pool, api.orders, member, page, size))


def _number(number):
    if not ORDER_NUMBER.fullmatch(number):
        raise _refusal(HTTPStatus.NOT_FOUND, 'not_found')
    return number


@_route('/orders/<number>', ['GET'])
@with_pool
@_caught
@with_transaction(readonly=True)
def get_order(request, pool, number):
    number = _number(number)
    return _json(_call(request, pool,
            lambda shop: api.order_json(api.order(shop, number))))


@_route('/orders/<number>/cancel', ['POST'])
@with_pool
@_caught
@with_transaction()
def cancel_order(request, pool, number):
    number = _number(number)
    return _json(_call(request, pool,
            lambda shop: api.order_json(api.cancel(shop, number))))


@_route('/orders/<number>/returns', ['POST'])
@with_pool
@_caught
@with_transaction()
def return_order(request, pool, number):
    number = _number(number)
    payload = _body(request, 'ReturnRequest')
    return _json(_call(request, pool,
            lambda shop: api.order_json(api.return_(shop, number, payload))),
        HTTPStatus.CREATED)


@_route('/payments/notify', ['POST'])
@with_pool
@_caught
@with_transaction()
def notify_payment(request, pool):
    """The provider's notification: signed with the payment secret of the
    order's shop (X-Payment-Signature: hex HMAC-SHA256 of the body)"""
    Shop, _ = _mall(pool)
    payload = _body(request, 'PaymentNotification')
    signature = request.headers.get('X-Payment-Signature', '')
    shop = _payment_shop(pool, payload['order'])
    body = request.get_data(cache=True)
    if shop is None or not hmac.compare_digest(
            hmac.new(shop.mall_payment_secret.encode(), body,
                hashlib.sha256).hexdigest(),
            signature.lower()):
        raise _refusal(HTTPStatus.UNAUTHORIZED, 'signature_invalid')
    with _channel(pool, shop):
        shop = Shop(shop.id)
        try:
            sale = api.pay(shop, payload)
        except (UserError, UserWarning) as exception:
            raise _user_refusal(exception)
        return _json(api.order_json(sale))


def _payment_shop(pool, number):
    "The mall shop of the order number (None: no such order)"
    Sale = pool.get('sale.sale')
    sales = Sale.search([
            ('number', '=', number),
            ('web_shop.type', '=', 'relief_mall'),
            ], limit=1)
    if not sales or not sales[0].web_shop.mall_payment_secret:
        return None
    return sales[0].web_shop
