"""Scratch PostgreSQL databases for the benchmarks: created fresh for each run, dropped after."""

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


def drop_database(url: str) -> None:
    _admin(url, [f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}"'])
