"""Without the demo app (XIAODAI_DEMO=0) its test modules are not even imported, since their
models do not exist: each module is reported as one skipped test with the reason."""

import pytest
from django.apps import apps

from tests.conftest import DEMO_SKIP_REASON


class _DemoNotInstalled(pytest.File):
    def collect(self):
        item = _Skipped.from_parent(self, name=self.path.stem)
        item.add_marker(pytest.mark.skip(reason=DEMO_SKIP_REASON))
        yield item


class _Skipped(pytest.Item):
    def runtest(self) -> None:
        raise AssertionError("skipped by its mark; never run")

    def reportinfo(self):
        return self.path, 0, self.name


def pytest_pycollect_makemodule(module_path, parent):
    if not apps.is_installed("demo"):
        return _DemoNotInstalled.from_parent(parent, path=module_path)
    return None
