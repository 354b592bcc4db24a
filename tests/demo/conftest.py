"""Without the demo app (XIAODAI_DEMO=0) its test modules are not even imported, since their
models do not exist: each module is reported as one skipped test with the reason."""

import pytest
from django.apps import apps

from tests.conftest import DEMO_SKIP_REASON


class _DemoNotInstalled(pytest.File):
    def collect(self):
        yield _Skipped.from_parent(self, name=self.path.stem)


class _Skipped(pytest.Item):
    def runtest(self) -> None:
        pytest.skip(DEMO_SKIP_REASON)

    def reportinfo(self):
        return self.path, 0, self.name


def pytest_pycollect_makemodule(module_path, parent):
    if not apps.is_installed("demo"):
        return _DemoNotInstalled.from_parent(parent, path=module_path)
    return None
