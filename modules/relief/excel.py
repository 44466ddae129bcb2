# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Read and write the official Excel forms.

A Layout declares a sheet once: its title, header lines, columns and footer
lines.  read_workbook() validates a whole sheet and returns its rows only if
every row is valid, otherwise it raises ExcelError listing every problem;
given an errors list it adds the problems to it instead, so that the caller
adds its own (unknown names, ...) and reports all of them in one pass with
raise_errors().  write_workbook() exports rows in the official layout.

The work and memory are bounded whatever the file: its size and unpacked
size are checked before parsing, the sheet is streamed (read_only), reading
stops at the row limit, a row is read up to MAX_COLUMNS cells and a cell is
refused beyond its column's size, quoted in messages by its first QUOTE
characters only.
"""
import datetime as dt
import difflib
import json
import math
import re
import unicodedata
import zipfile
from decimal import Decimal
from io import BytesIO
from itertools import chain, islice

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from trytond import config
from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access

from .exceptions import ExcelError

__all__ = [
    'Column', 'Layout', 'read_workbook', 'raise_errors', 'quote', 'suggest',
    'update_record', 'write_workbook', 'format_quantity', 'queue_rows',
    'notify']

MAX_ERRORS = 100
HEADER_SEARCH = 10
# Cells read of each row: the official forms have 8 columns
MAX_COLUMNS = 64
# Characters of a value quoted in a message
QUOTE = 30
# Default most characters of a text cell
CHAR_SIZE = 200
# The data ends after so many blank rows in a row (formatted empty rows)
BLANK_ROWS = 1000
# The unpacked parts of a workbook may be this many times its size limit
UNPACKED_RATIO = 4
# Imports of more rows run in the queue (trytond.conf [relief]
# excel_queue_rows, the context's relief_excel_queue_rows for tests)
QUEUE_ROWS = 2000
# Excel evaluates cells starting with these as formulas (OWASP CSV injection)
FORMULA_PREFIXES = ('=', '+', '-', '@', '\t', '\r')
TYPE_ERRORS = {
    'integer': 'relief.msg_excel_not_integer',
    'numeric': 'relief.msg_excel_not_number',
    'quantity': 'relief.msg_excel_not_quantity',
    'date': 'relief.msg_excel_not_date',
    'phone': 'relief.msg_excel_not_phone',
    }
# A quantity: a number, 万 for 10,000 and a unit ("500吨", "1.5万公斤")
QUANTITY_RE = re.compile(
    r'^([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*(万)?\s*([^\d\s.][^\d]{0,9})?$')
# Chinese phone numbers: mobile (11 digits) or landline with its area code
# (0 and 2-3 digits) and an optional extension, with or without +86
MOBILE_RE = re.compile(r'^(?:(?:\+|00)86)?1[3-9]\d{9}$')
LANDLINE_RE = re.compile(
    r'^(?:(?:(?:\+|00)86-?0?|0)[1-9]\d{1,2}-?\d{7,8}|[48]00-?\d{3}-?\d{4})'
    r'(?:(?:-|转|ext\.?|x|#)\d{1,6})?$', re.IGNORECASE)
PHONE_SEPARATORS = re.compile(r'[/、,，;；]')
_THIN = Side(style='thin')
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


class CellError(ValueError):
    "A cell value refused with a message other than its type's"

    def __init__(self, message, **params):
        super().__init__(message)
        self.message = message
        self.params = params


class Column:
    "A column of a sheet: its key in the rows, header label, type and checks"

    def __init__(
            self, name, string, type='char', required=False, key=False,
            minimum=None, maximum=None, digits=None, size=None, width=None):
        assert type in {
            'char', 'integer', 'numeric', 'quantity', 'date', 'phone'}, type
        self.name = name
        self.string = string
        self.type = type
        self.required = required
        self.key = key
        self.minimum = minimum
        if maximum is None and type == 'integer':
            # The database's integers
            maximum = 2 ** 31 - 1
        elif maximum is None and type in {'numeric', 'quantity'}:
            maximum = 10 ** 12
        self.maximum = maximum
        self.digits = digits
        self.size = size or CHAR_SIZE
        self.width = width

    def convert(self, value):
        "Return the cell value as a Python value or raise ValueError"
        if isinstance(value, str):
            if len(value) > self.size:
                raise CellError(
                    'relief.msg_excel_too_long', size=self.size)
            value = value.strip()
            if self.type in {'integer', 'numeric', 'quantity', 'phone'}:
                # Fold full-width digits and drop thousands separators
                value = unicodedata.normalize('NFKC', value)
                if self.type != 'phone':
                    value = value.replace(',', '')
        if value is None or value == '':
            return None
        value = getattr(self, '_convert_' + self.type)(value)
        self._check_range(
            value[0] if self.type == 'quantity' else value)
        return value

    def _check_range(self, value):
        if not isinstance(value, (int, Decimal)):
            return
        if self.minimum is not None and value < self.minimum:
            raise CellError(
                'relief.msg_excel_below_minimum', minimum=self.minimum)
        if self.maximum is not None and value > self.maximum:
            raise CellError(
                'relief.msg_excel_above_maximum', maximum=self.maximum)
        if (self.digits is not None and isinstance(value, Decimal)
                and value.as_tuple().exponent < -self.digits):
            raise CellError('relief.msg_excel_digits', digits=self.digits)

    def _convert_char(self, value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value)

    def _convert_integer(self, value):
        value = self._convert_numeric(value)
        if value != value.to_integral_value():
            raise ValueError(value)
        # Before int(): 1E+999999999 is an integral Decimal
        self._check_range(value)
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
        if value == value.to_integral_value() and abs(value) < 10 ** 15:
            # 1E+3 and 1000.00 are 1000
            value = value.quantize(1)
        else:
            value = value.normalize()
        return value

    def _convert_quantity(self, value):
        "Return the quantity and its unit (None if not written)"
        if not isinstance(value, str):
            return self._convert_numeric(value), None
        match = QUANTITY_RE.match(value)
        if not match:
            raise ValueError(value)
        number, ten_thousand, unit = match.groups()
        number = self._convert_numeric(number)
        if ten_thousand:
            number = self._convert_numeric(number * 10000)
        return number, (unit or '').strip() or None

    def _convert_date(self, value):
        if isinstance(value, dt.datetime):
            return value.date()
        elif isinstance(value, dt.date):
            return value
        elif isinstance(value, str):
            value = value.replace('/', '-').replace('.', '-')
            return dt.datetime.strptime(value, '%Y-%m-%d').date()
        raise ValueError(value)

    def _convert_phone(self, value):
        "Return the numbers as written if each is a Chinese phone number"
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ValueError(value)
        for number in PHONE_SEPARATORS.split(value):
            number = re.sub(r'[\s()（）]', '', number)
            if not (MOBILE_RE.match(number) or LANDLINE_RE.match(number)):
                raise ValueError(value)
        return value


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
        data, layout, filename=None, max_rows=None, max_size=None,
        errors=None, lines=None):
    """Return the data rows of the sheet as dictionaries or raise ExcelError

    With errors, a list, the problems of the rows are added to it and the
    rows returned (without the values refused) for the caller to check more
    and call raise_errors().  With lines, a list, the texts above the header
    row (title, header lines) are added to it."""
    max_rows, max_size = _limits(max_rows, max_size)
    own = errors is None
    if own:
        errors = []
    _check_file(data, filename, max_size)
    try:
        workbook = _load(data)
    except Exception:
        # openpyxl fails in many ways on what is not a valid .xlsx
        raise_errors([('relief.msg_excel_not_xlsx', {})], filename)
    try:
        sheet = _get_sheet(workbook, layout, filename)
        rows = enumerate(_safe_rows(
                sheet.iter_rows(max_col=MAX_COLUMNS), filename), 1)
        top = list(islice(rows, HEADER_SEARCH))
        header_row, indexes = _read_header(sheet, top, layout, errors)
        if header_row is None:
            raise_errors(errors, filename)
        if lines is not None:
            lines.extend(_lines(top[:header_row - 1]))
        result = _read_rows(
            sheet, chain(top[header_row:], rows), layout, indexes, max_rows,
            errors)
        if not result and not errors:
            errors.append(('relief.msg_excel_empty', {
                        'sheet': sheet.title, 'row': header_row}))
    finally:
        workbook.close()
    if own:
        raise_errors(errors, filename)
    return result


class _Sheet(ReadOnlyWorksheet):
    "A streamed sheet that is not read to the end to find its dimensions"

    def _get_size(self):
        # openpyxl parses the whole sheet when it has no <dimension>; the
        # dimensions are not used (a wrong one would truncate rows)
        self._min_row = self._min_column = 1
        self._max_row = self._max_column = None


class _Reader(ExcelReader):
    "Read a workbook's sheets as _Sheet"

    def read_worksheets(self):
        for sheet, rel in self.parser.find_sheets():
            if (rel.target not in self.valid_files
                    or 'chartsheet' in rel.Type):
                continue
            worksheet = _Sheet(
                self.wb, sheet.name, rel.target, self.shared_strings)
            worksheet.sheet_state = sheet.state
            self.wb._sheets.append(worksheet)


def _load(data):
    "Return the workbook of data opened for streaming"
    reader = _Reader(BytesIO(data), read_only=True, data_only=False)
    reader.read()
    return reader.wb


def _safe_rows(rows, filename):
    "Yield rows, refusing the file if openpyxl fails on its XML"
    try:
        yield from rows
    except Exception:
        # A shared string out of range, bad XML, a damaged zip member ...
        raise_errors([('relief.msg_excel_damaged', {})], filename)


def _check_file(data, filename, max_size):
    "Refuse a file too large, packed or unpacked, before parsing it"
    if max_size and len(data) > max_size * 1024:
        raise_errors([('relief.msg_excel_too_large', {
                        'size': math.ceil(len(data) / 1024),
                        'limit': max_size,
                        })], filename)
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            # The sizes of the central directory bound what zipfile unpacks
            unpacked = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        raise_errors([('relief.msg_excel_not_xlsx', {})], filename)
    if max_size and unpacked > max_size * 1024 * UNPACKED_RATIO:
        # A cell of 300 MiB packs into 300 KiB
        raise_errors([('relief.msg_excel_too_large_unpacked', {
                        'size': math.ceil(unpacked / 1024),
                        'limit': max_size * UNPACKED_RATIO,
                        })], filename)


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


def raise_errors(errors, filename=None):
    """Raise ExcelError with a summary and the first errors if any

    An error is a message id and its parameters."""
    if not errors:
        return
    lines = [
        gettext(id_, **params) for id_, params in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        lines.append(gettext(
                'relief.msg_excel_more_errors',
                count=len(errors) - MAX_ERRORS))
    if filename:
        summary = gettext(
            'relief.msg_excel_errors', filename=quote(filename),
            count=len(errors))
    else:
        summary = gettext(
            'relief.msg_excel_errors_workbook', count=len(errors))
    raise ExcelError('\n'.join([summary] + lines))


def quote(value, length=QUOTE):
    "Return value as text short enough to quote in a message"
    value = '' if value is None else str(value)
    value = ' '.join(value[:length * 4].split())
    if len(value) > length:
        value = value[:length] + '…'
    return value


def suggest(value, names, suffixes=()):
    """Return the hint naming the closest of names to value, or ''

    The suffixes common to names (总工会) are not compared."""
    def strip(name):
        name = str(name)[:QUOTE * 2]
        for suffix in suffixes:
            if name.endswith(suffix) and len(name) > len(suffix):
                return name[:-len(suffix)]
        return name
    stripped = {}
    for name in names:
        stripped.setdefault(strip(name), name)
    matches = difflib.get_close_matches(
        strip(value), list(stripped), n=1, cutoff=0.65)
    if matches:
        return gettext(
            'relief.msg_excel_did_you_mean', name=stripped[matches[0]])
    return ''


def _join(items):
    "Return items as a list in the user's language"
    return gettext('relief.msg_excel_list_separator').join(
        quote(i) for i in items)


def _normalize(text):
    "Return text to compare labels whatever the spaces and full-width forms"
    return ''.join(unicodedata.normalize('NFKC', str(text)[:200]).split())


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _lines(rows):
    "Return the texts of the cells of rows"
    return [
        str(c.value)[:CHAR_SIZE] for _, cells in rows for c in cells
        if isinstance(c.value, str) and c.value.strip()]


def _get_sheet(workbook, layout, filename):
    "Return the sheet of the layout or raise ExcelError"
    if layout.sheet is None:
        return workbook.worksheets[0]
    if layout.sheet not in workbook.sheetnames:
        raise_errors([('relief.msg_excel_sheet_missing', {
                        'sheet': layout.sheet,
                        'sheets': _join(workbook.sheetnames[:20]),
                        })], filename)
    return workbook[layout.sheet]


def _read_header(sheet, top, layout, errors):
    "Return the header row number and the cell index of each column name"
    labels = {_normalize(c.string): c for c in layout.columns}

    def score(cells):
        return sum(_normalize(c.value) in labels
            for c in cells if not _blank(c.value))
    scores = [score(cells) for _, cells in top]
    title = quote(sheet.title)
    if not any(scores):
        errors.append(('relief.msg_excel_header_missing', {
                    'sheet': title,
                    'rows': HEADER_SEARCH,
                    'columns': _join(c.string for c in layout.columns),
                    }))
        return None, None
    header_row = scores.index(max(scores)) + 1
    indexes, unknown = {}, []
    params = {'sheet': title, 'row': header_row}
    for index, cell in enumerate(top[header_row - 1][1]):
        if _blank(cell.value):
            continue
        column = labels.get(_normalize(cell.value))
        if not column:
            unknown.append(str(cell.value).strip())
        elif column.name in indexes:
            errors.append(('relief.msg_excel_column_duplicate',
                    dict(params, column=column.string)))
        else:
            indexes[column.name] = index
    missing = [c.string for c in layout.columns if c.name not in indexes]
    if missing:
        errors.append(('relief.msg_excel_columns_missing',
                dict(params, columns=_join(missing))))
    if unknown:
        errors.append(('relief.msg_excel_columns_unknown',
                dict(params, columns=_join(unknown[:10]))))
    return header_row, indexes


def _read_rows(sheet, rows, layout, indexes, max_rows, errors):
    "Return the converted data rows, adding their errors"
    footers = tuple(filter(None, (
                _normalize(f).rstrip(':') for f in layout.footer_lines)))
    keys = [c for c in layout.columns if c.key and c.name in indexes]
    seen, result, blanks = {}, [], 0
    title = quote(sheet.title)
    for number, cells in rows:
        values = [c.value for c in cells if not _blank(c.value)]
        if not values:
            blanks += 1
            if blanks > BLANK_ROWS:
                break
            continue
        blanks = 0
        if (footers and isinstance(values[0], str)
                and _normalize(values[0]).startswith(footers)):
            break
        if max_rows and len(result) >= max_rows:
            # Stop here: counting the rows would read the whole file
            errors.append(('relief.msg_excel_too_many_rows', {
                        'sheet': title, 'row': number, 'limit': max_rows}))
            break
        row = _read_row(sheet, number, cells, layout, indexes, errors)
        result.append(row)
        key = tuple(row.get(c.name) for c in keys)
        if keys and any(v is not None for v in key):
            if key in seen:
                errors.append(('relief.msg_excel_duplicate', {
                            'sheet': title,
                            'first': seen[key],
                            'row': number,
                            'columns': _join(c.string for c in keys),
                            'values': _join(v for v in key if v is not None),
                            }))
            else:
                seen[key] = number
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
        params = {
            'sheet': quote(sheet.title), 'row': number,
            'column': column.string}
        if cell is not None and cell.data_type == 'f':
            # An array formula is an object holding its text
            formula = getattr(value, 'text', value)
            errors.append(('relief.msg_excel_formula',
                    dict(params, formula=quote(formula))))
            row['_error'] = True
            continue
        try:
            value = column.convert(value)
        except CellError as error:
            errors.append((error.message,
                    dict(params, value=quote(value), **error.params)))
            row['_error'] = True
            continue
        except (ValueError, TypeError, ArithmeticError):
            errors.append((TYPE_ERRORS.get(
                        column.type, 'relief.msg_excel_not_number'),
                    dict(params, value=quote(value))))
            row['_error'] = True
            continue
        if value is None and column.required:
            errors.append(('relief.msg_excel_required', params))
            row['_error'] = True
        row[column.name] = value
    return row


def update_record(record, **values):
    "Set the imported values that differ on record; return whether any did"
    changed = {k: v for k, v in values.items() if getattr(record, k) != v}
    for name, value in changed.items():
        setattr(record, name, value)
    return bool(changed)


def format_quantity(quantity, unit):
    "Return quantity and unit as written in a form: 500吨"
    if quantity is None:
        return None
    text = format(Decimal(quantity).normalize(), 'f')
    return text + (unit or '')


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
        _set(sheet.cell(1, 1), layout.title)
        sheet.merge_cells(
            start_row=1, end_row=1, start_column=1, end_column=len(columns))
        sheet['A1'].font = Font(bold=True, size=16)
        sheet['A1'].alignment = Alignment(
            horizontal='center', vertical='center')
        sheet.row_dimensions[1].height = 30
    for offset, line in enumerate(header_lines, 2 if layout.title else 1):
        _set(sheet.cell(offset, 1), line)
    header = len(header_lines) + (2 if layout.title else 1)
    # Long headers wrap so they count less in the widths
    widths = [min(_width(c.string), 16) for c in columns]
    for index, column in enumerate(columns, 1):
        cell = _set(sheet.cell(header, index), column.string)
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
            cell = _set(sheet.cell(last, index), value)
            cell.border = BORDER
            if column.type == 'date':
                cell.number_format = 'yyyy-mm-dd'
            widths[index - 1] = max(widths[index - 1], _width(value))
    for offset, line in enumerate(footer_lines, 2):
        _set(sheet.cell(last + offset, 1), line)
    for index, (column, width) in enumerate(zip(columns, widths), 1):
        sheet.column_dimensions[get_column_letter(index)].width = (
            column.width or min(max(width + 2, 6), 40))
    sheet.freeze_panes = sheet.cell(header + 1, 1)
    data = BytesIO()
    workbook.save(data)
    return data.getvalue()


def _set(cell, value):
    """Set value on cell so that Excel shows it as text and never runs it:
    a text that Excel would take for a formula is a text cell with the
    quote prefix (as typed with a leading apostrophe), read back as is"""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub('', value)
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        cell.data_type = 's'
        cell.quotePrefix = True
    return cell


def _width(value):
    "Return the display width of value, Chinese characters being wide"
    if value is None:
        return 0
    if isinstance(value, (dt.date, dt.datetime)):
        return 10
    return sum(
        2 if unicodedata.east_asian_width(c) in 'WF' else 1
        for c in str(value)[:100])


def queue_rows():
    "Return the number of rows beyond which an import runs in the queue"
    return Transaction().context.get(
        'relief_excel_queue_rows',
        config.getint('relief', 'excel_queue_rows', default=QUEUE_ROWS))


def notify(user, label, description=None, icon='tryton-ok', records=None):
    "Notify user of the end of an import run in the queue"
    Notification = Pool().get('res.notification')
    records = records or []
    with without_check_access():
        Notification.create([{
                    'user': user.id,
                    'label': label,
                    # A Char: the lines of an error on one line
                    'description': (
                        ' '.join(description.splitlines())
                        if description else None),
                    'icon': icon,
                    'model': records[0].__name__ if records else None,
                    'records': (
                        json.dumps([r.id for r in records])
                        if records else None),
                    }])
