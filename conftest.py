# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Run every scenario_*.rst (modules/*/tests and tests/) under pytest.

pytest ignores unittest's load_tests protocol, so the doctest suites that
trytond's load_doc_tests builds are collected here instead, with the same
set-up and tear-down as Tryton's own runner.  Unlike Tryton's runner, a
refusal's message is compared too (no IGNORE_EXCEPTION_DETAIL): a scenario
shows every refusal with its message, so the message is part of the test."""
import contextlib
import doctest
import json
import re
from unittest import mock

import pytest


def pytest_collect_file(parent, file_path):
    if file_path.suffix == '.rst' and file_path.name.startswith('scenario'):
        return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFile(pytest.File):

    def collect(self):
        from trytond.tests.test_tryton import doctest_setup, doctest_teardown
        config = self.path.with_suffix('.json')
        configs = json.loads(config.read_text()) if config.exists() else [{}]
        for i, globs in enumerate(configs):
            name = self.path.name if len(configs) == 1 else (
                f'{self.path.name}[{i}]')
            yield ScenarioItem.from_parent(
                self, name=name, globs=globs, setup=doctest_setup,
                teardown=doctest_teardown, checker=MessageChecker())


# The last line of a traceback: "package.module.NameError: message"
EXCEPTION = re.compile(r'^(?:\w+\.)*(\w+: .*?)(?: -)?\s*$', re.S)


def _checker_class():
    from trytond.tests.test_tryton import OutputChecker

    class MessageChecker(OutputChecker):
        """Compare an exception's name (without its module) and message
        (without the empty description trytond appends: "message - ")"""

        def check_output(self, want, got, optionflags):
            if (EXCEPTION.match(want) and '\n' not in want.rstrip('\n')
                    and (match := EXCEPTION.match(got))
                    and '\n' not in got.rstrip('\n')):
                got = match.group(1) + '\n'
                want = EXCEPTION.match(want).group(1) + '\n'
            return super().check_output(want, got, optionflags)
    return MessageChecker


def MessageChecker():
    return _checker_class()()


class ScenarioItem(pytest.Item):

    def __init__(self, *, globs, setup, teardown, checker, **kwargs):
        super().__init__(**kwargs)
        self.globs, self.checker = globs, checker
        self.setup_fn, self.teardown_fn = setup, teardown

    def runtest(self):
        from trytond import backend
        from trytond.tests.test_tryton import STRIP_DECIMAL
        flags = doctest.REPORT_ONLY_FIRST_FAILURE | doctest.ELLIPSIS
        if backend.name == 'sqlite':
            flags |= STRIP_DECIMAL
        text = self.path.read_text(encoding='utf-8')
        test = doctest.DocTestParser().get_doctest(
            text, dict(self.globs, __file__=str(self.path)), self.name,
            str(self.path), 0)
        runner = doctest.DocTestRunner(
            checker=self.checker, optionflags=flags)
        self.setup_fn(test)
        try:
            with _activation_shared():
                runner.run(test, out=self._report.append)
        finally:
            self.teardown_fn(test)
        if runner.failures:
            raise ScenarioFailure(''.join(self._report))

    @property
    def _report(self):
        if not hasattr(self, '_lines'):
            self._lines = []
        return self._lines

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f'scenario: {self.name}'


class ScenarioFailure(Exception):
    pass


@contextlib.contextmanager
def _activation_shared():
    """Make activate_modules(modules, *setup) start from the cached
    activation of modules alone (the one of the module's own tests) when its
    set-up is not cached yet: each set-up of a module otherwise activates
    every module again from an empty database, the longest part of the
    suite."""
    from trytond.tests import test_tryton, tools

    activate_modules = tools.activate_modules

    def shared(modules, *setup):
        if not setup or not test_tryton.DB_CACHE:
            return activate_modules(modules, *setup)
        names = sorted([modules] if isinstance(modules, str) else modules)
        name = '-'.join(names) + '--' + '|'.join(
            tools._func_name(f) for f in setup)
        if test_tryton.restore_db_cache(name):
            return tools._get_config()
        config = activate_modules(names)
        for func in setup:
            func(config=config)
        test_tryton.backup_db_cache(name)
        return config

    with mock.patch.object(tools, 'activate_modules', shared):
        yield
