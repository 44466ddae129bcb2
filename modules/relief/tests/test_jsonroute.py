# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The JSON routes' plumbing: a database that gives up is tried again for
[relief] lock_timeout seconds, then answered `busy`, never a page"""
import json
import logging
import unittest
from http import HTTPStatus
from unittest import mock

from werkzeug.test import EnvironBuilder

from trytond import backend, config
from trytond.modules.relief.jsonroute import (
    JsonRoutes, control_path, field_name)
from trytond.protocols.wrappers import Request


class Refusal(Exception):
    "A refusal of the routes: status, stable code, message, field"

    def __init__(self, status, code, message, field=None):
        super().__init__(message)
        self.status, self.code = status, code

    def json(self):
        return {'error': {'code': self.code}}


class Held(backend.DatabaseOperationalError):
    "A lock taken without waiting that another transaction holds"
    sqlstate = '55P03'


class Cancelled(backend.DatabaseOperationalError):
    "A statement cancelled by its timeout"
    sqlstate = '57014'


class JsonRouteTestCase(unittest.TestCase):

    def setUp(self):
        self.routes = JsonRoutes(Refusal, {}, 1024, logging.getLogger(__name__))
        self.request = Request(EnvironBuilder(path='/x').get_environ())
        # No real pause between the tries
        patcher = mock.patch('trytond.modules.relief.jsonroute.time.sleep')
        self.sleep = patcher.start()
        self.addCleanup(patcher.stop)

    def call(self, func):
        "Answer func as a route would: (status, body)"
        response = self.routes.caught(func)(self.request, None)
        return response.status_code, json.loads(response.get_data())

    def test_tried_again_until_free(self):
        "A lock held for the first two tries: the third answers"
        tries = []

        def func(request, pool):
            tries.append(1)
            if len(tries) < 3:
                raise Held()
            return self.routes.json({'done': True})
        self.assertEqual(self.call(func), (200, {'done': True}))
        self.assertEqual(len(tries), 3)
        # Each pause longer than the one before
        pauses = [c.args[0] for c in self.sleep.call_args_list]
        self.assertEqual(pauses, sorted(pauses))
        self.assertLess(pauses[0], pauses[1])

    def test_busy_after_lock_timeout(self):
        "A lock held longer than lock_timeout: busy, 503, with Retry-After"
        def func(request, pool):
            raise Held()
        clock = iter(range(0, 1000, 1))
        with mock.patch.object(config, 'getfloat', return_value=5), \
                mock.patch('trytond.modules.relief.jsonroute.time.monotonic',
                    side_effect=lambda: next(clock)):
            response = self.routes.caught(func)(self.request, None)
        self.assertEqual(response.status_code, 503)
        self.assertEqual(json.loads(response.get_data())['error']['code'],
            'busy')
        self.assertEqual(response.headers['Retry-After'], '1')
        self.assertLessEqual(self.sleep.call_count, 5)

    def test_timeout_not_tried_again(self):
        "A statement cancelled by its timeout: busy at once"
        tries = []

        def func(request, pool):
            tries.append(1)
            raise Cancelled()
        with self.assertLogs(__name__, 'WARNING'):
            self.assertEqual(self.call(func)[0], 503)
        self.assertEqual(len(tries), 1)

    def test_refusal_not_tried_again(self):
        "A refusal is answered at once"
        tries = []

        def func(request, pool):
            tries.append(1)
            raise Refusal(HTTPStatus.CONFLICT, 'taken', "已被占用")
        self.assertEqual(self.call(func)[0], 409)
        self.assertEqual(len(tries), 1)

    def test_fault_answered_internal(self):
        "A bug: 500 as JSON, its trace in the log only"
        def func(request, pool):
            raise ZeroDivisionError()
        with self.assertLogs(__name__, 'ERROR'):
            status, body = self.call(func)
        self.assertEqual((status, body['error']['code']),
            (500, 'internal'))

    def test_control_path(self):
        "The first text holding a control character, by its path"
        self.assertIsNone(control_path(
                {'a': ["街道\t1 号\n"], 'b': 1, 'c': None}))
        self.assertEqual(control_path(
                {'a': 1, 'lines': [{'x': 'ok'}, {'x': 'n\x00'}]}),
            ('lines', 1, 'x'))
        self.assertEqual(control_path({'k\x1f': 'v'}), ('k\x1f',))
        # Nested deeper than the stack: no RecursionError
        deep = "\x00"
        for _ in range(5000):
            deep = [deep]
        self.assertEqual(len(control_path(deep)), 5000)

    def test_field_name(self):
        "A path named as the payload's fields"
        self.assertEqual(field_name(('lines', 1, 'x')), 'lines[1].x')
        self.assertEqual(field_name(()), '')
