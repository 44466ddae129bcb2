# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The text of a printed document, for the scenarios: of the PDF (with
pdftotext) where LibreOffice converted it, else of the OpenDocument.  CI
(CI=true, set by .ci/run) requires the PDF, with a Chinese font embedded."""
import os
import subprocess
import tempfile
import zipfile
from io import BytesIO

from lxml import etree

CJK_FONTS = ('CJK', 'WenQuanYi', 'WQY')


def document_text(extension, content):
    content = bytes(content)
    if extension != 'pdf':
        if os.environ.get('CI') == 'true':
            raise AssertionError(
                f"CI prints PDF: got {extension}, is LibreOffice installed?")
        with zipfile.ZipFile(BytesIO(content)) as odt:
            root = etree.fromstring(odt.read('content.xml'))
        # A paragraph a line, as pdftotext gives them
        text_ns = root.nsmap['text']
        return '\n'.join(''.join(p.itertext())
            for p in root.iter('{%s}p' % text_ns, '{%s}h' % text_ns))
    check_cjk_font(content)
    return _run(['pdftotext', '-layout', '-', '-'], content)


def image_count(extension, content):
    "The number of images drawn in the document"
    content = bytes(content)
    if extension != 'pdf':
        with zipfile.ZipFile(BytesIO(content)) as odt:
            return odt.read('content.xml').count(b'<draw:image ')
    # pdfimages reads no standard input
    with tempfile.NamedTemporaryFile(suffix='.pdf') as pdf:
        pdf.write(content)
        pdf.flush()
        return len(_run(['pdfimages', '-list', pdf.name], b'')
            .splitlines()[2:])


def check_cjk_font(content):
    "Refuse a PDF that embeds no Chinese font (its glyphs would be boxes)"
    fonts = _run(['pdffonts', '-'], content).splitlines()[2:]
    embedded = [f for f in fonts
        if any(n in f for n in CJK_FONTS) and ' yes ' in f]
    if not embedded:
        raise AssertionError("no Chinese font embedded:\n" + '\n'.join(fonts))


def _run(args, content):
    return subprocess.run(args, input=content, capture_output=True,
        check=True, timeout=60).stdout.decode('utf-8')
