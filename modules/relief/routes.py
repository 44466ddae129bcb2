# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The health check of the proxy or load balancer: GET /health

200 {"status": "ok"} when this process has loaded the pool of at least
one database and each of them answers a trivial query; 503 {"status":
"unavailable"} otherwise, after at most TIMEOUT seconds.  No authentication and nothing
disclosed: no database name (the URL holds none, so it cannot be used to
probe which databases exist, and the proxy needs to know none), no
version, no error text; the cause goes to the server's log.

The databases checked are those this process knows: under gunicorn,
those of TRYTOND_DATABASE_NAMES, loaded when the worker starts.  A worker
with no pool, or with a pool that is known but not loaded (what a login
leaves when it comes first: trytond 8.0 loads a pool on first use, except
for a login), answers logins with an error: it is unhealthy.

Not a per-database route under with_pool/with_transaction: those load a
pool on first use (the check would then hide the fault it is for) and
wait for a connection for as long as psycopg_pool does (30 s) when the
database is down; here the wait is bounded."""
import json
import logging
from http import HTTPStatus

from trytond import backend
from trytond.pool import Pool
from trytond.protocols.wrappers import Response
from trytond.wsgi import app

logger = logging.getLogger(__name__)

# Seconds to get a connection and run the query; proxies wait a few more.
TIMEOUT = 3


def _answers(database_name):
    "Whether the database answers SELECT 1 within TIMEOUT seconds"
    database = backend.Database(database_name).connect()
    connpool = getattr(database, '_connpool', None)
    if backend.name == 'postgresql' and connpool is not None:
        # psycopg_pool: the wait for a connection can be bounded
        connection = connpool.getconn(timeout=TIMEOUT)
        put = connpool.putconn
    else:
        connection = database.get_connection(readonly=True)
        put = database.put_connection
    try:
        cursor = connection.cursor()
        if backend.name == 'postgresql':
            cursor.execute(
                "SET LOCAL statement_timeout = %d" % (TIMEOUT * 1000))
        cursor.execute("SELECT 1")
        return tuple(cursor.fetchone()) == (1,)
    finally:
        try:
            connection.rollback()
        finally:
            put(connection)


def healthy():
    "Whether this process serves at least one database and all answer"
    names = Pool.database_list()
    if not names:
        logger.warning("health: no database loaded in this process")
        return False
    for name in names:
        try:
            Pool(name).get('res.user')
        except KeyError:
            logger.warning("health: the pool of %r is not loaded", name)
            return False
        try:
            if not _answers(name):
                return False
        except Exception:
            logger.warning(
                "health: database %r does not answer", name, exc_info=True)
            return False
    return True


@app.route('/health', methods={'GET', 'HEAD'})
def health(request):
    if healthy():
        status, body = HTTPStatus.OK, {'status': 'ok'}
    else:
        status, body = HTTPStatus.SERVICE_UNAVAILABLE, {
            'status': 'unavailable'}
    return Response(
        json.dumps(body), status=status, content_type='application/json',
        headers={
            'Cache-Control': 'no-store',
            'X-Content-Type-Options': 'nosniff',
            })
