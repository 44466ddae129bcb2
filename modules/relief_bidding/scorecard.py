# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The supplier scorecard: per certified supplier and period, one query
(table_query) of left-joined figures, each grouped by supplier."""
import datetime as dt

from sql import Cast, Literal
from sql.aggregate import Count, Sum
from sql.conditionals import Case, Coalesce, NullIf
from sql.operators import Concat

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction


class Scorecard(ModelSQL, ModelView):
    "Supplier Scorecard"
    __name__ = 'relief.bidding.scorecard'

    supplier = fields.Many2One('party.party', "Supplier", readonly=True)
    receipts = fields.Integer("Receipts", readonly=True,
        help="Supplier shipments received in the period.")
    on_time = fields.Integer("On Time", readonly=True,
        help="Receipts done on or before their planned date.")
    on_time_rate = fields.Float(
        "On-Time Rate", digits=(16, 4), readonly=True)
    inspections = fields.Integer("Inspections", readonly=True,
        help="Inspections of its shipments processed in the period.")
    inspections_passed = fields.Integer("Passed", readonly=True)
    pass_rate = fields.Float("Pass Rate", digits=(16, 4), readonly=True)
    returns = fields.Integer("Returns", readonly=True,
        help="Returns to the supplier done in the period.")
    recalls = fields.Integer("Recalls", readonly=True,
        help="Recalls started in the period that reach its shipments.")
    bids_won = fields.Integer("Bids Won", readonly=True,
        help="Bids awarded in rounds closed in the period.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('supplier', 'ASC'), ('id', 'ASC')]

    @staticmethod
    def _period():
        context = Transaction().context
        today = Pool().get('ir.date').today()
        start = context.get('scorecard_from_date') or today.replace(
            month=1, day=1)
        end = context.get('scorecard_to_date') or today
        return start, end

    @classmethod
    def table_query(cls):
        pool = Pool()
        Certification = pool.get('relief.supplier.certification')
        certification = Certification.__table__()
        start, end = cls._period()
        first = dt.datetime.combine(start, dt.time())
        last = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
        suppliers = certification.select(
            certification.supplier.as_('supplier'),
            group_by=[certification.supplier])
        receipts = cls._receipts(start, end)
        inspections = cls._inspections(first, last)
        returns = cls._returns(start, end)
        recalls = cls._recalls(first, last)
        bids = cls._bids(first, last)
        query = suppliers
        for sub in [receipts, inspections, returns, recalls, bids]:
            query = query.join(sub, 'LEFT',
                condition=sub.supplier == suppliers.supplier)
        # The rates in the query, not per record: the list reads as one
        # query reads it
        return query.select(
            suppliers.supplier.as_('id'),
            suppliers.supplier.as_('supplier'),
            Coalesce(receipts.receipts, 0).as_('receipts'),
            Coalesce(receipts.on_time, 0).as_('on_time'),
            Coalesce(inspections.inspections, 0).as_('inspections'),
            Coalesce(inspections.passed, 0).as_('inspections_passed'),
            cls._rate(receipts.on_time, receipts.receipts).as_(
                'on_time_rate'),
            cls._rate(inspections.passed, inspections.inspections).as_(
                'pass_rate'),
            Coalesce(returns.returns, 0).as_('returns'),
            Coalesce(recalls.recalls, 0).as_('recalls'),
            Coalesce(bids.bids_won, 0).as_('bids_won'),
            )

    @classmethod
    def _receipts(cls, start, end):
        shipment = Pool().get('stock.shipment.in').__table__()
        on_time = Case(
            (shipment.effective_date <= Coalesce(
                    shipment.planned_date, shipment.effective_date),
                Literal(1)), else_=Literal(0))
        return shipment.select(
            shipment.supplier.as_('supplier'),
            Count(shipment.id).as_('receipts'),
            Sum(on_time).as_('on_time'),
            where=(shipment.state == 'done')
            & (shipment.effective_date >= start)
            & (shipment.effective_date <= end),
            group_by=[shipment.supplier])

    @classmethod
    def _inspections(cls, first, last):
        pool = Pool()
        shipment = pool.get('stock.shipment.in').__table__()
        inspection = pool.get('quality.inspection').__table__()
        passed = Case(
            (inspection.state == 'passed', Literal(1)), else_=Literal(0))
        return inspection.join(shipment, condition=inspection.origin
                == Concat('stock.shipment.in,',
                    Cast(shipment.id, 'VARCHAR'))).select(
            shipment.supplier.as_('supplier'),
            Count(inspection.id).as_('inspections'),
            Sum(passed).as_('passed'),
            where=inspection.state.in_(['passed', 'failed'])
            & (inspection.processed_at >= first)
            & (inspection.processed_at < last),
            group_by=[shipment.supplier])

    @classmethod
    def _returns(cls, start, end):
        shipment = Pool().get('stock.shipment.in.return').__table__()
        return shipment.select(
            shipment.supplier.as_('supplier'),
            Count(shipment.id).as_('returns'),
            where=(shipment.state == 'done')
            & (shipment.effective_date >= start)
            & (shipment.effective_date <= end),
            group_by=[shipment.supplier])

    @classmethod
    def _recalls(cls, first, last):
        pool = Pool()
        recall = pool.get('relief.trace.recall').__table__()
        line = pool.get('relief.trace.recall.line').__table__()
        return line.join(recall, condition=line.recall == recall.id).select(
            line.party.as_('supplier'),
            Count(recall.id, distinct=True).as_('recalls'),
            where=(line.direction == 'upstream')
            & recall.state.in_(['started', 'done'])
            & (recall.started_at >= first) & (recall.started_at < last),
            group_by=[line.party])

    @classmethod
    def _bids(cls, first, last):
        pool = Pool()
        bid = pool.get('relief.bidding.bid').__table__()
        round_ = pool.get('relief.bidding.round').__table__()
        return bid.join(round_, condition=bid.round == round_.id).select(
            bid.supplier.as_('supplier'),
            Count(bid.id).as_('bids_won'),
            where=(bid.awarded == Literal(True))
            & (round_.state == 'awarded')
            & (round_.closing >= first) & (round_.closing < last),
            group_by=[bid.supplier])

    @staticmethod
    def _rate(part, whole):
        "part / whole, NULL without a whole (no receipt, no inspection)"
        return Cast(part, 'FLOAT') / NullIf(whole, 0)

    def get_rec_name(self, name):
        return self.supplier.rec_name


class ScorecardContext(ModelView):
    "Supplier Scorecard Context"
    __name__ = 'relief.bidding.scorecard.context'

    scorecard_from_date = fields.Date("From Date", required=True,
        domain=[If(Eval('scorecard_to_date'),
                ('scorecard_from_date', '<=', Eval('scorecard_to_date')),
                ())])
    scorecard_to_date = fields.Date("To Date", required=True,
        domain=[If(Eval('scorecard_from_date'),
                ('scorecard_to_date', '>=', Eval('scorecard_from_date')),
                ())])

    @classmethod
    def default_scorecard_from_date(cls):
        return Transaction().context.get('scorecard_from_date',
            Pool().get('ir.date').today().replace(month=1, day=1))

    @classmethod
    def default_scorecard_to_date(cls):
        return Transaction().context.get('scorecard_to_date',
            Pool().get('ir.date').today())
