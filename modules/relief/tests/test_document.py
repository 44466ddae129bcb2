# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Printed documents without LibreOffice: given as OpenDocument, no error."""
import unittest
from types import SimpleNamespace

from trytond import config
from trytond.modules.relief import document


class DocumentReportTestCase(unittest.TestCase):
    "The conversion of DocumentReport"

    def setUp(self):
        if not config.has_section('report'):
            config.add_section('report')
        self.previous = config.get('report', 'convert_command')

    def tearDown(self):
        if self.previous is None:
            unset_command()
        else:
            config.set('report', 'convert_command', self.previous)

    def action(self, extension='pdf'):
        return SimpleNamespace(report_name='relief.test',
            template_extension='odt', extension=extension)

    def test_without_libreoffice(self):
        "Without the converter the document is the ODT, nothing logged"
        config.set('report', 'convert_command',
            'relief-no-such-soffice --convert-to "%(output_extension)s" '
            '"%(input_path)s"')
        self.assertFalse(document.converter_available())
        with self.assertNoLogs('trytond.report', level='ERROR'):
            self.assertEqual(
                document.DocumentReport.convert(self.action(), b'odt data'),
                ('odt', b'odt data'))

    def test_same_format(self):
        "An ODT asked as ODT is not converted"
        self.assertEqual(
            document.DocumentReport.convert(self.action(''), b'odt data'),
            ('odt', b'odt data'))

    def test_default_command_profile(self):
        "The default command uses a LibreOffice profile of the process"
        unset_command()
        command = document.convert_command()
        self.assertIn('-env:UserInstallation=file://', command)
        self.assertEqual(config.get('report', 'convert_command'), command)


def unset_command():
    # trytond.config has no remove_option
    config._config.remove_option('report', 'convert_command')
    config._cache_clear()
