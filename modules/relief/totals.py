# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Running totals: tables of amounts by key that confirmations add to, so
that a check or a report reads a row per key instead of the documents."""
from sql import Column, Conflict, For, Table, _Excluded
from sql.functions import CurrentTimestamp

import logging

from trytond import backend, config
from trytond.i18n import gettext
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, TransactionError

from .exceptions import BusyError

# PostgreSQL's SQLSTATE for a row lock that NOWAIT could not take
LOCK_NOT_AVAILABLE = '55P03'

logger = logging.getLogger(__name__)


def ensure_btree_gist():
    """Create PostgreSQL's btree_gist extension if the database lacks it.

    Without it trytond cannot make our exclusion constraints (a claim's or
    a certificate's period, one per programme or product) of PostgreSQL:
    it checks them itself under LOCK TABLE ... NOWAIT, so two users writing
    such records at once fail until [database] retry is spent, an HTTP 503.
    btree_gist is a trusted extension: the database's owner may create it.
    Created on a connection of its own, committed, as trytond looks for it
    on another connection (and caches what it found)."""
    database = Transaction().database
    if backend.name != 'postgresql' or database.has_extension('btree_gist'):
        return
    connection = database.get_connection(autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute('CREATE EXTENSION IF NOT EXISTS btree_gist')
    except Exception:
        logger.warning("btree_gist could not be created: exclusion "
            "constraints are checked under table locks", exc_info=True)
    finally:
        database.put_connection(connection)
    database._extensions[database.name].pop('btree_gist', None)


class _LowerExcluded(_Excluded):
    # python-sql quotes "EXCLUDED", which PostgreSQL does not know: its
    # pseudo-table is excluded, in lower case.
    def __init__(self):
        Table.__init__(self, 'excluded')

    @property
    def alias(self):
        return 'excluded'


Excluded = _LowerExcluded()


def add_amounts(table, keys, rows, amount='amount'):
    """Add rows of (key values..., amount) to the amount column of table

    keys are the names of the columns of its unique constraint.  One
    statement, safe when two transactions add a key that is not there yet;
    on a row that another transaction changed, PostgreSQL's serialization
    error makes the dispatcher run the call again."""
    if not rows:
        return
    columns = [getattr(table, k) for k in keys]
    column = getattr(table, amount)
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.insert(
            columns + [column], rows,
            on_conflict=Conflict(table,
                indexed_columns=columns, columns=[column],
                values=[column + getattr(Excluded, amount)])))


class _ForNoKeyUpdate(For):
    "FOR NO KEY UPDATE, which python-sql does not offer"

    def __init__(self, nowait=False):
        super().__init__('UPDATE', nowait=nowait)

    def __str__(self):
        return 'FOR NO KEY' + super().__str__()[len('FOR'):]


class _RowsReleased(TransactionError):
    "Run the call again in a new transaction: the rows it locks are free"


def lock_rows(table, where, name, update=False):
    """Lock the rows of table matching where until the end of the
    transaction, waiting for the transaction that holds them if any.

    Call it before reading what the rows guard (a cap, a budget): under
    PostgreSQL's repeatable read a transaction that waited for a lock still
    sees what it saw before, so the wait happens outside it, on a
    connection of its own, and then the call runs again (TransactionError,
    like Model.lock) with a new snapshot and takes the lock at once.  Unlike
    Model.lock (NOWAIT, given up after [database] retry tries, an HTTP 503
    for the user), every contender gets its turn; after [relief]
    lock_timeout seconds (30) of waiting it gets BusyError, naming name.

    The lock is FOR NO KEY UPDATE, not FOR UPDATE: the rows are counters
    that documents refer to (a subsidy line to its programme), and the
    foreign-key check of a document being written takes a KEY SHARE lock,
    which FOR UPDATE would make wait and then, the row changed, fail with a
    serialization error (an HTTP 503 once [database] retry is spent).
    update=True takes FOR UPDATE, the lock of Tryton's Model.lock, and
    tells the transaction that it holds them: a later Model.lock of these
    rows (a strict sequence's, an order's) is then satisfied at once.
    Otherwise Model.lock starts the call again taking them NOWAIT, which
    fails, an HTTP 503, while another transaction holds them for longer
    than trytond's few retries."""
    transaction = Transaction()
    database = transaction.database
    if not database.has_select_for():
        # SQLite writes one transaction at a time: nothing to wait for, but
        # a later Model.lock of the rows would start the call again
        if update:
            cursor = transaction.connection.cursor()
            cursor.execute(*table.select(table.id, where=where))
            transaction._locked_records[table._name].update(
                id_ for id_, in cursor)
        return
    lock = For if update else _ForNoKeyUpdate
    arguments = ('UPDATE',) if update else ()
    query = table.select(table.id, where=where, order_by=[table.id],
        for_=lock(*arguments, nowait=True))
    try:
        cursor = transaction.connection.cursor()
        cursor.execute(*query)
        if update:
            # trytond 8.0's record of what Model.lock took
            transaction._locked_records[table._name].update(
                id_ for id_, in cursor)
        return
    except backend.DatabaseOperationalError as exception:
        held = getattr(exception, 'sqlstate', None) == LOCK_NOT_AVAILABLE
    # Changed or held since this transaction began: drop what it did (it
    # may hold locks that the holder waits for) and wait for the holder.
    transaction.rollback()
    if held:
        query.for_ = lock(*arguments)
        _wait(database, query, name)
    raise _RowsReleased()


def lock_timeout():
    "The seconds a call waits for what another transaction holds"
    return config.getfloat('relief', 'lock_timeout', default=30)


def _wait(database, query, name):
    "Wait on a connection of its own until query's rows can be locked"
    timeout = lock_timeout()
    connection = database.get_connection()
    try:
        cursor = connection.cursor()
        cursor.execute('SET LOCAL lock_timeout = %s' % int(timeout * 1000))
        cursor.execute(*query)
    except backend.DatabaseOperationalError as exception:
        # A serialization failure: the holder changed the rows and is gone
        if getattr(exception, 'sqlstate', None) == LOCK_NOT_AVAILABLE:
            raise BusyError(gettext('relief.msg_rows_busy', name=name,
                    timeout=int(timeout)))
    finally:
        connection.rollback()
        database.put_connection(connection)


def insert_rows(Model, rows):
    """INSERT rows of Model (dicts of its stored fields, all with the same
    keys; the missing ones get their defaults) as ModelSQL.create writes
    them, without its work per record (defaults, validation, hooks): for
    rows that their caller built and checked as a set.  Return their ids,
    in the rows' order."""
    if not rows:
        return []
    transaction = Transaction()
    database, connection = transaction.database, transaction.connection
    cursor = connection.cursor()
    table = Model.__table__()
    given = set(rows[0])
    missing = [n for n, f in Model._fields.items()
        if n not in given and not hasattr(f, 'set')
        and n not in {'id', 'create_uid', 'create_date', 'write_uid',
            'write_date'}]
    defaults = Model._clean_defaults(
        Model.default_get(missing, with_rec_name=False)) if missing else {}
    names = sorted(given | defaults.keys())
    formats = [Model._fields[n].sql_format for n in names]
    columns = [table.create_uid, table.create_date] + [
        Column(table, n) for n in names]
    head = [transaction.user, CurrentTimestamp()]

    def values(row):
        row = {**defaults, **row}
        return head + [f(row[n]) for f, n in zip(formats, names)]
    ids = []
    size = backend.MAX_QUERY_PARAMS // (len(columns) + 1)
    for chunk in grouped_slice(rows, size):
        chunk = list(chunk)
        new = database.nextid(connection, Model._table, count=len(chunk))
        if isinstance(new, int):
            new = [new]
        elif new is None:  # SQLite: the row's id once inserted
            for row in chunk:
                cursor.execute(*table.insert(columns, [values(row)]))
                ids.append(database.lastid(cursor))
            continue
        cursor.execute(*table.insert([table.id] + columns,
                [[i] + values(r) for i, r in zip(new, chunk)]))
        ids.extend(new)
    return ids
