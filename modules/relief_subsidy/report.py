# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from decimal import Decimal
from types import SimpleNamespace

from trytond.modules.relief.document import DocumentReport
from trytond.pool import Pool


class ClaimStatement(DocumentReport):
    """Claim statement (申领单) sent to the payer with the claim's invoice:
    one row per product or per sale, as the programme details its claims"""
    __name__ = 'relief.subsidy.claim.statement'

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context['statement'] = cls.statement
        return context

    @classmethod
    def statement(cls, claim):
        "Return the rows of the claim, their totals and their headings"
        ClaimLine = Pool().get('relief.subsidy.claim.line')
        by_sale = claim.program.claim_grouping == 'sale'
        rows = {}
        for line in ClaimLine.search([('claim', '=', claim.id)]):
            subsidy = line.subsidy_line
            if by_sale and subsidy.sale:
                key = subsidy.sale
                name = '%s %s' % (subsidy.sale.rec_name,
                    subsidy.sale.party.rec_name)
            elif by_sale:
                # A counter's subsidy: its line names the counter sale
                key = subsidy
                name = '%s %s' % (subsidy.rec_name, subsidy.member.rec_name)
            else:
                key = subsidy.product
                name = subsidy.product.rec_name if subsidy.product else ''
            row = rows.setdefault(key, {
                    'name': name, 'date': subsidy.date, 'count': 0,
                    'quantity': 0.0, 'amount': Decimal(0)})
            row['count'] += 1
            row['quantity'] += subsidy.quantity
            row['amount'] += line.amount
        rows = list(rows.values())
        for i, row in enumerate(rows, 1):
            row['sequence'] = i
        total = {
            'count': sum(r['count'] for r in rows),
            'quantity': sum(r['quantity'] for r in rows),
            'amount': sum((r['amount'] for r in rows), Decimal(0)),
            }
        total['words'] = amount_in_words(total['amount'])
        return SimpleNamespace(rows=rows, total=total,
            grouping="按销售单" if by_sale else "按产品",
            column="销售单（客户）" if by_sale else "产品",
            digits=max((r['quantity'] % 1 and 2 or 0) for r in rows)
            if rows else 0)


DIGITS = '零壹贰叁肆伍陆柒捌玖'
SMALL_UNITS = ['', '拾', '佰', '仟']
BIG_UNITS = ['', '万', '亿', '万亿']


def _section(number):
    "The words of 1 to 9999, no leading zero"
    words, zero = '', False
    for position in range(3, -1, -1):
        digit = number // 10 ** position % 10
        if not digit:
            zero = bool(words)
            continue
        if zero:
            words += '零'
            zero = False
        words += DIGITS[digit] + SMALL_UNITS[position]
    return words


def _integer(number):
    sections = []
    while number:
        number, section = divmod(number, 10000)
        sections.append(section)
    words, zero = '', False
    for i in range(len(sections) - 1, -1, -1):
        section = sections[i]
        if not section:
            zero = bool(words)
            continue
        if words and (zero or section < 1000):
            words += '零'
        words += _section(section) + BIG_UNITS[i]
        zero = False
    return words


def amount_in_words(amount):
    "The amount in the capital numerals of Chinese invoices (大写金额)"
    amount = Decimal(amount).quantize(Decimal('0.01'))
    if amount < 0:
        return '负' + amount_in_words(-amount)
    yuan, cents = divmod(int(amount * 100), 100)
    jiao, fen = divmod(cents, 10)
    words = _integer(yuan) + '元' if yuan else ''
    if not cents:
        return (words or '零元') + '整'
    if jiao:
        words += DIGITS[jiao] + '角'
    elif yuan:
        words += '零'
    return words + (DIGITS[fen] + '分' if fen else '整')
