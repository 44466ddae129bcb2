# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Tasks taken by a worker that died are put back in the queue; tasks that
a worker is running are not.

trytond-worker marks a task taken (dequeued_at) in a transaction of its
own, then runs it in another: a worker killed in between or during the run
leaves the task taken and unfinished forever.  relief's Queue.run locks the
task's row while it runs, and the scheduled action Requeue Stalled Tasks
(ir.queue|relief_requeue_stalled) puts back the taken, unfinished tasks
whose row nobody holds.  PostgreSQL only (row locks)."""
import datetime as dt
import os

import pytest

from dbtools import fresh_database

pytestmark = pytest.mark.skipif(
    not os.environ.get("TRYTOND_DATABASE_URI", "").startswith("postgresql"),
    reason="row locks: PostgreSQL only")


def _push(name, taken_ago):
    "A task of name, taken taken_ago seconds ago (None: not taken)"
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    with Transaction(new=True).start(name, 0) as transaction:
        Queue = Pool().get('ir.queue')
        task, = Queue.create([{'name': 'default', 'data': {
                        'model': 'res.user', 'method': 'get_groups',
                        'instances': [], 'args': [], 'kwargs': {},
                        'context': {}, 'user': 0}}])
        if taken_ago is not None:
            Queue.write([task], {'dequeued_at': dt.datetime.now()
                    - dt.timedelta(seconds=taken_ago)})
        transaction.commit()
        return task.id


def _requeue(name):
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    with Transaction(new=True).start(name, 0) as transaction:
        ids = Pool().get('ir.queue').relief_requeue_stalled()
        transaction.commit()
        return ids


@pytest.fixture(scope='module')
def name():
    with fresh_database('relief', 'relief_queue') as (name, _):
        yield name


def test_requeue_stalled(name):
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    dead = _push(name, 300)
    running = _push(name, 300)
    recent = _push(name, 5)
    waiting = _push(name, None)
    # A worker runs `running`: its transaction holds the row
    with Transaction(new=True).start(name, 0,
            _lock_records={'ir_queue': [running]}):
        assert _requeue(name) == [dead]
    with Transaction(new=True).start(name, 0):
        Queue = Pool().get('ir.queue')
        taken = {t.id: t.dequeued_at for t in Queue.browse(
                [dead, running, recent, waiting])}
    assert taken[dead] is None
    assert taken[running] and taken[recent]
    assert taken[waiting] is None
    # Once the worker is gone, its task is put back too
    assert _requeue(name) == [running]


def test_run_holds_its_task(name):
    "Queue.run runs the task with its row locked (as trytond-worker does)"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.worker import run_task

    task = _push(name, 0)
    run_task(name, task)
    with Transaction(new=True).start(name, 0):
        done, = Pool().get('ir.queue').browse([task])
        assert done.finished_at
