# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Running totals: tables of amounts by key that confirmations add to, so
that a check or a report reads a row per key instead of the documents."""
from sql import Conflict, For, Literal, Table, _Excluded

from trytond import backend, config
from trytond.i18n import gettext
from trytond.transaction import Transaction, TransactionError

from .exceptions import BusyError

# PostgreSQL's SQLSTATE for a row lock that NOWAIT could not take
LOCK_NOT_AVAILABLE = '55P03'


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
    update=True takes FOR UPDATE, for a row that the call then locks with
    Tryton's Model.lock too (NOWAIT, which a weaker lock held by this
    transaction would not satisfy while others wait for the row)."""
    transaction = Transaction()
    database = transaction.database
    if not database.has_select_for():
        return  # SQLite writes one transaction at a time
    lock = For if update else _ForNoKeyUpdate
    arguments = ('UPDATE',) if update else ()
    query = table.select(Literal(1), where=where, order_by=[table.id],
        for_=lock(*arguments, nowait=True))
    try:
        transaction.connection.cursor().execute(*query)
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


def _wait(database, query, name):
    "Wait on a connection of its own until query's rows can be locked"
    timeout = config.getfloat('relief', 'lock_timeout', default=30)
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
