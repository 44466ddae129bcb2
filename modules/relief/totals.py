# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Running totals: tables of amounts by key that confirmations add to, so
that a check or a report reads a row per key instead of the documents."""
from sql import Conflict, Table, _Excluded

from trytond.transaction import Transaction


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
