"""`python -m demo.held_start <manage.py arguments>`: a manage.py command (run_demo's web server)
that loads Django and the project's URLs and views first, then waits while run_demo is still
building the demo's database (XIAODAI_DEMO_HOLD_FILE names a file that does not exist yet), then
runs. Its start-up thus overlaps the build; nothing reaches the database before the build is
done."""

import os
import sys


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import execute_from_command_line
    from django.core.wsgi import get_wsgi_application
    from django.urls import get_resolver

    from demo.receivers import hold_until_built

    get_wsgi_application()  # the middleware
    get_resolver(settings.ROOT_URLCONF).url_patterns  # noqa: B018 - imports every view
    hold_until_built()
    execute_from_command_line(["manage.py", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
