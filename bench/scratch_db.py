"""What the benchmarks share: scratch PostgreSQL databases (created fresh for each run, dropped
after), Django set up as in production (DEBUG off, so no query is recorded), and the process's
memory read from the kernel."""

import os
import tempfile

import psycopg2


def _admin(url: str, statements: list[str]) -> None:
    base, _, _ = url.rpartition("/")
    admin = psycopg2.connect(base + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    admin.close()


def fresh_database(url: str) -> None:
    name = url.rpartition("/")[2]
    _admin(url, [f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'])


def clone_database(template_url: str, url: str) -> None:
    """`url`'s database, dropped and created again as a copy of `template_url`'s (which must have
    no connection open): each measurement of one built world starts from the same rows."""
    name, template = url.rpartition("/")[2], template_url.rpartition("/")[2]
    _admin(url, [f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}" TEMPLATE "{template}"'])


def drop_database(url: str) -> None:
    _admin(url, [f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}"'])


def setup_django(
    *, database_url: str | None, var_prefix: str | None = None, fresh: bool = True
) -> str | None:
    """Point Django at `database_url` (a fresh scratch database unless `fresh` is off) or, with
    None, at SQLite; with `var_prefix`, in a new temporary var dir (returned); DEBUG off; then
    django.setup()."""
    var_dir = None
    if var_prefix is not None:
        var_dir = tempfile.mkdtemp(prefix=var_prefix)
        os.environ["XIAODAI_VAR_DIR"] = var_dir
    if database_url:
        if fresh:
            fresh_database(database_url)
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "k" * 40)
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", "bench-only-field-key")
    os.environ.setdefault("API_KEY_HASH_KEY", "bench-only-api-key-hash")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    return var_dir


def vm_kb(field: str) -> int:
    """A line of /proc/self/status in kB (VmRSS, VmHWM, …); 0 if absent."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's RSS (Linux ≥ 4.0), so that VmHWM and
    ru_maxrss afterwards are the peak of what follows, not of the imports before it."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False
