"""The project's date, time and number formats (settings.FORMAT_MODULE_PATH): the workbench
writes dates and times as the portal does (2026-12-06, 2026-12-06 22:51, Asia/Shanghai time)
in both languages, and groups a figure's thousands with a comma (40,394.92)."""
