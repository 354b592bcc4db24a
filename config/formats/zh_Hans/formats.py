"""zh_Hans: the shared formats (config.formats.common)."""

from config.formats.common import *  # noqa: F403
