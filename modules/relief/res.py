# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from http import HTTPStatus

from werkzeug.exceptions import abort

from trytond.pool import Pool, PoolMeta


class UserApplication(metaclass=PoolMeta):
    __name__ = 'res.user.application'

    @classmethod
    def check(cls, key, application):
        # The REST API (and any user application) is for integration users
        # of the group "REST API": the roles work through the web client,
        # and a key of theirs must not open a second door to the models.
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        record = super().check(key, application)
        if record and record.user:
            group = ModelData.get_id('relief', 'group_rest_api')
            if group not in {g.id for g in record.user.groups}:
                abort(HTTPStatus.FORBIDDEN)
        return record
