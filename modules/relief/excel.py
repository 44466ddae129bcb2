# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Read and write the official Excel forms.

A Layout declares a sheet once: its title, header lines, columns and footer
lines.  read_workbook() validates a whole sheet and returns its rows only if
every row is valid, otherwise it raises ExcelError listing every problem.
write_workbook() exports rows in the official layout.
"""
import datetime as dt
import math
import unicodedata
from decimal import Decimal
from io import BytesIO
from itertools import chain, islice

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.transaction import Transaction

from .exceptions import ExcelError

__all__ = [
    'Column', 'Layout', 'read_workbook', 'update_record', 'write_workbook']

MAX_ERRORS = 100
HEADER_SEARCH = 10
# Excel evaluates cells starting with these as formulas (OWASP CSV injection)
FORMULA_PREFIXES = ('=', '+', '-', '@', '\t', '\r')
TYPE_ERRORS = {
    'integer': 'msg_excel_not_integer',
    'numeric': 'msg_excel_not_number',
    'date': 'msg_excel_not_date',
    }
_THIN = Side(style='thin')
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


class Column:
    "A column of a sheet: its key in the rows, header label, type and checks"

    def __init__(
            self, name, string, type='char', required=False, key=False,
            minimum=None, width=None):
        assert type in {'char', 'integer', 'numeric', 'date'}, type
        self.name = name
        self.string = string
        self.type = type
        self.required = required
        self.key = key
        self.minimum = minimum
        self.width = width

    def convert(self, value):
        "Return the cell value as a Python value or raise ValueError"
        if isinstance(value, str):
            value = _unquote(value).strip()
            if self.type in {'integer', 'numeric'}:
                # Fold full-width digits and drop thousands separators
                value = unicodedata.normalize('NFKC', value).replace(',', '')
        if value is None or value == '':
            return None
        return getattr(self, '_convert_' + self.type)(value)

    def _convert_char(self, value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value)

    def _convert_integer(self, value):
        value = self._convert_numeric(value)
        if value != value.to_integral_value():
            raise ValueError(value)
        return int(value)

    def _convert_numeric(self, value):
        if isinstance(value, float):
            # str() gives the shortest decimal that Excel displays
            value = str(value)
        elif (isinstance(value, bool)
                or not isinstance(value, (str, int, Decimal))):
            raise ValueError(value)
        try:
            value = Decimal(value)
        except ArithmeticError:
            raise ValueError(value)
        if not value.is_finite():
            raise ValueError(value)
        return value

    def _convert_date(self, value):
        if isinstance(value, dt.datetime):
            return value.date()
        elif isinstance(value, dt.date):
            return value
        elif isinstance(value, str):
            value = value.replace('/', '-').replace('.', '-')
            return dt.datetime.strptime(value, '%Y-%m-%d').date()
        raise ValueError(value)


class Layout:
    "The layout of a sheet: title, header lines, columns and footer lines"

    def __init__(
            self, columns, sheet=None, title=None, header_lines=(),
            footer_lines=()):
        self.columns = list(columns)
        self.sheet = sheet
        self.title = title
        self.header_lines = list(header_lines)
        self.footer_lines = list(footer_lines)


def read_workbook(
        data, layout, filename=None, max_rows=None, max_size=None):
    "Return the data rows of the sheet as dictionaries or raise ExcelError"
    max_rows, max_size = _limits(max_rows, max_size)
    errors = []
    if max_size and len(data) > max_size * 1024:
        _raise(filename, [('msg_excel_too_large', {
                        'size': math.ceil(len(data) / 1024),
                        'limit': max_size,
                        })])
    try:
        workbook = load_workbook(
            BytesIO(data), read_only=True, data_only=False)
    except Exception:
        # openpyxl fails in many ways on what is not a valid .xlsx
        _raise(filename, [('msg_excel_not_xlsx', {})])
    try:
        sheet = _get_sheet(workbook, layout, filename)
        # Some producers write a wrong dimension, which would truncate rows
        sheet.reset_dimensions()
        rows = enumerate(sheet.iter_rows(), 1)
        top = list(islice(rows, HEADER_SEARCH))
        header_row, indexes = _read_header(sheet, top, layout, errors)
        if header_row is None:
            _raise(filename, errors)
        result = _read_rows(
            sheet, chain(top[header_row:], rows), layout, indexes, max_rows,
            errors)
        if not result and not errors:
            errors.append(('msg_excel_empty', {
                        'sheet': sheet.title, 'row': header_row}))
    finally:
        workbook.close()
    if errors:
        _raise(filename, errors)
    return result


def _limits(max_rows, max_size):
    "Return the limits, the configuration giving those not passed"
    if ((max_rows is None or max_size is None)
            and Transaction().database):
        Configuration = Pool().get('relief.configuration')
        config = Configuration(1)
        if max_rows is None:
            max_rows = config.excel_max_rows
        if max_size is None:
            max_size = config.excel_max_size
    return max_rows, max_size


def _raise(filename, errors):
    "Raise ExcelError with a summary and the first errors"
    lines = [
        gettext('relief.' + id_, **params)
        for id_, params in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        lines.append(gettext(
                'relief.msg_excel_more_errors',
                count=len(errors) - MAX_ERRORS))
    if filename:
        summary = gettext(
            'relief.msg_excel_errors', filename=filename, count=len(errors))
    else:
        summary = gettext(
            'relief.msg_excel_errors_workbook', count=len(errors))
    raise ExcelError('\n'.join([summary] + lines))


def _join(items):
    "Return items as a list in the user's language"
    return gettext('relief.msg_excel_list_separator').join(map(str, items))


def _normalize(text):
    "Return text to compare labels whatever the spaces and full-width forms"
    return ''.join(unicodedata.normalize('NFKC', str(text)).split())


def _unquote(value):
    "Return value without the quote write_workbook adds against formulas"
    if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _get_sheet(workbook, layout, filename):
    "Return the sheet of the layout or raise ExcelError"
    if layout.sheet is None:
        return workbook.worksheets[0]
    if layout.sheet not in workbook.sheetnames:
        _raise(filename, [('msg_excel_sheet_missing', {
                        'sheet': layout.sheet,
                        'sheets': _join(workbook.sheetnames),
                        })])
    return workbook[layout.sheet]


def _read_header(sheet, top, layout, errors):
    "Return the header row number and the cell index of each column name"
    labels = {_normalize(c.string): c for c in layout.columns}

    def score(cells):
        return sum(_normalize(c.value) in labels
            for c in cells if not _blank(c.value))
    scores = [score(cells) for _, cells in top]
    if not any(scores):
        errors.append(('msg_excel_header_missing', {
                    'sheet': sheet.title,
                    'rows': HEADER_SEARCH,
                    'columns': _join(c.string for c in layout.columns),
                    }))
        return None, None
    header_row = scores.index(max(scores)) + 1
    indexes, unknown = {}, []
    params = {'sheet': sheet.title, 'row': header_row}
    for index, cell in enumerate(top[header_row - 1][1]):
        if _blank(cell.value):
            continue
        column = labels.get(_normalize(cell.value))
        if not column:
            unknown.append(str(cell.value).strip())
        elif column.name in indexes:
            errors.append(('msg_excel_column_duplicate',
                    dict(params, column=column.string)))
        else:
            indexes[column.name] = index
    missing = [c.string for c in layout.columns if c.name not in indexes]
    if missing:
        errors.append(('msg_excel_columns_missing',
                dict(params, columns=_join(missing))))
    if unknown:
        errors.append(('msg_excel_columns_unknown',
                dict(params, columns=_join(unknown))))
    return header_row, indexes


def _read_rows(sheet, rows, layout, indexes, max_rows, errors):
    "Return the converted data rows, adding their errors"
    footers = tuple(filter(None, (
                _normalize(f).rstrip(':') for f in layout.footer_lines)))
    keys = [c for c in layout.columns if c.key and c.name in indexes]
    seen, result, count = {}, [], 0
    for number, cells in rows:
        values = [c.value for c in cells if not _blank(c.value)]
        if not values:
            continue
        if (footers and isinstance(values[0], str)
                and _normalize(values[0]).startswith(footers)):
            break
        count += 1
        if max_rows and count > max_rows:
            # Only count the rows to tell how many there are
            continue
        row = _read_row(sheet, number, cells, layout, indexes, errors)
        result.append(row)
        key = tuple(row.get(c.name) for c in keys)
        if keys and any(v is not None for v in key):
            if key in seen:
                errors.append(('msg_excel_duplicate', {
                            'sheet': sheet.title,
                            'first': seen[key],
                            'row': number,
                            'columns': _join(c.string for c in keys),
                            'values': _join(v for v in key if v is not None),
                            }))
            else:
                seen[key] = number
    if max_rows and count > max_rows:
        errors.append(('msg_excel_too_many_rows', {
                    'sheet': sheet.title, 'count': count, 'limit': max_rows}))
    return result


def _read_row(sheet, number, cells, layout, indexes, errors):
    "Return the row as a dictionary, adding its errors"
    row = {'_row': number}
    for column in layout.columns:
        if column.name not in indexes:
            continue
        index = indexes[column.name]
        cell = cells[index] if index < len(cells) else None
        value = cell.value if cell is not None else None
        params = {'sheet': sheet.title, 'row': number, 'column': column.string}
        if cell is not None and cell.data_type == 'f':
            # An array formula is an object holding its text
            formula = getattr(value, 'text', value)
            errors.append(('msg_excel_formula', dict(params, formula=formula)))
            continue
        try:
            value = column.convert(value)
        except (ValueError, TypeError):
            errors.append(
                (TYPE_ERRORS[column.type], dict(params, value=value)))
            continue
        if value is None and column.required:
            errors.append(('msg_excel_required', params))
        elif (value is not None and column.minimum is not None
                and value < column.minimum):
            errors.append(('msg_excel_below_minimum',
                    dict(params, value=value, minimum=column.minimum)))
        row[column.name] = value
    return row


def update_record(record, **values):
    "Set the imported values that differ on record; return whether any did"
    changed = {k: v for k, v in values.items() if getattr(record, k) != v}
    for name, value in changed.items():
        setattr(record, name, value)
    return bool(changed)


def write_workbook(layout, rows, header_lines=None, footer_lines=None):
    "Return the rows as .xlsx data in the layout"
    if header_lines is None:
        header_lines = layout.header_lines
    if footer_lines is None:
        footer_lines = layout.footer_lines
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = layout.sheet or 'Sheet1'
    columns = layout.columns
    if layout.title:
        sheet.append([_safe(layout.title)])
        sheet.merge_cells(
            start_row=1, end_row=1, start_column=1, end_column=len(columns))
        sheet['A1'].font = Font(bold=True, size=16)
        sheet['A1'].alignment = Alignment(
            horizontal='center', vertical='center')
        sheet.row_dimensions[1].height = 30
    for line in header_lines:
        sheet.append([_safe(line)])
    header = len(header_lines) + (2 if layout.title else 1)
    # Long headers wrap so they count less in the widths
    widths = [min(_width(c.string), 16) for c in columns]
    for index, column in enumerate(columns, 1):
        cell = sheet.cell(header, index, _safe(column.string))
        cell.font = Font(bold=True)
        cell.border = BORDER
        cell.alignment = Alignment(
            horizontal='center', vertical='center', wrap_text=True)
    last = header
    for number, row in enumerate(rows, 1):
        last = header + number
        for index, column in enumerate(columns, 1):
            value = row.get(column.name)
            if value is None and column.name == 'sequence':
                value = number
            cell = sheet.cell(last, index, _safe(value))
            cell.border = BORDER
            if column.type == 'date':
                cell.number_format = 'yyyy-mm-dd'
            widths[index - 1] = max(widths[index - 1], _width(value))
    for offset, line in enumerate(footer_lines, 2):
        sheet.cell(last + offset, 1, _safe(line))
    for index, (column, width) in enumerate(zip(columns, widths), 1):
        sheet.column_dimensions[get_column_letter(index)].width = (
            column.width or min(max(width + 2, 6), 40))
    sheet.freeze_panes = sheet.cell(header + 1, 1)
    data = BytesIO()
    workbook.save(data)
    return data.getvalue()


def _safe(value):
    "Return value so that Excel shows it as text and never runs it"
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub('', value)
        if value.startswith(FORMULA_PREFIXES):
            value = "'" + value
    return value


def _width(value):
    "Return the display width of value, Chinese characters being wide"
    if value is None:
        return 0
    if isinstance(value, (dt.date, dt.datetime)):
        return 10
    return sum(
        2 if unicodedata.east_asian_width(c) in 'WF' else 1
        for c in str(value))
