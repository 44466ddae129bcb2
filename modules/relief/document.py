# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Printable documents: OpenDocument templates converted to PDF by
LibreOffice when it is installed, left as OpenDocument when it is not."""
import atexit
import logging
import os
import shlex
import shutil
import tempfile

from trytond import config
from trytond.report import Report

logger = logging.getLogger(__name__)

# A conversion is one document of a few pages: bounded, tried twice
TIMEOUT = 120
RETRY = 1
# Tryton's default command, with a LibreOffice profile of this process:
# two processes sharing one profile (the server's workers, the test runs)
# hand their conversions to each other and one of them gets no file.
DEFAULT_COMMAND = (
    'soffice --headless --nolockcheck --nodefault --norestore '
    '"-env:UserInstallation=file://%(profile)s" '
    '--convert-to "%(output_extension)s" '
    '--outdir "%(directory)s" "%(input_path)s"')


def convert_command():
    """Return the configured command; unless one is, set the default with
    the profile of this process (once: the configuration is global)"""
    command = config.get('report', 'convert_command', default=None)
    if not command:
        profile = os.path.join(
            tempfile.gettempdir(), 'trytond-soffice-%s' % os.getpid())
        command = DEFAULT_COMMAND.replace('%(profile)s', profile)
        atexit.register(shutil.rmtree, profile, ignore_errors=True)
        if not config.has_section('report'):
            config.add_section('report')
        config.set('report', 'convert_command', command)
    return command


def converter_available():
    "Whether the program of the conversion command is installed"
    return bool(shutil.which(shlex.split(convert_command())[0]))


class DocumentReport(Report):
    """A report whose template is an OpenDocument and whose action may ask
    for another format (PDF): without LibreOffice the document is given
    as OpenDocument, never an error."""

    @classmethod
    def convert(cls, report, data, timeout=TIMEOUT, retry=RETRY):
        output = report.extension or report.template_extension
        if output == report.template_extension:
            return super().convert(report, data)
        if not converter_available():
            logger.info(
                "%s: no LibreOffice to convert to %s, given as %s",
                report.report_name, output, report.template_extension)
            return report.template_extension, data
        return super().convert(report, data, timeout=timeout, retry=retry)

