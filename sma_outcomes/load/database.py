"""Read the result of a SQL query: through a connection, or from a database file.

A connection may be any DB-API 2.0 connection (``sqlite3``, DuckDB, psycopg, ...)
or a SQLAlchemy engine or connection. A database *file* given as the source is
opened read-only: SQLite with the standard library, DuckDB (``.duckdb``, ``.ddb``)
with the ``duckdb`` package when it is installed. Row numbers in messages count
the query result's rows from 2, as for a DataFrame (row 1 is the header).

Examples
--------
>>> import sqlite3
>>> con = sqlite3.connect(":memory:")
>>> _ = con.execute("create table s (patient text, HFMSE int)")
>>> _ = con.execute("insert into s values ('P1', 20)")
>>> query(con, "select * from s")
  patient  HFMSE
0      P1     20
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..exceptions import DataError
from .problems import fail

__all__ = ["query", "query_file"]


def query(con: object, sql: str) -> pd.DataFrame:
    """Run ``sql`` on ``con`` and return the rows as they come (no type guessing)."""
    name = "<SQL query>"
    try:
        if hasattr(con, "cursor") and not _is_sqlalchemy(con):
            cur = con.cursor()
            try:
                cur.execute(sql)
                if cur.description is None:
                    raise fail(name, "sql", "the query returned no table (use SELECT ...)")
                columns = [str(d[0]) for d in cur.description]
                rows = cur.fetchall()
            finally:
                close = getattr(cur, "close", None)
                if close is not None:
                    close()
            frame = pd.DataFrame.from_records(rows, columns=columns, coerce_float=False)
        else:
            frame = pd.read_sql_query(sql, con)
    except DataError:
        raise
    except Exception as err:  # every driver has its own error types
        raise fail(name, "sql", f"the query failed: {type(err).__name__}: {err}") from None
    return frame


def _is_sqlalchemy(con: object) -> bool:
    return type(con).__module__.startswith("sqlalchemy")


def query_file(path: Path, sql: str) -> pd.DataFrame:
    """Run ``sql`` on a SQLite or DuckDB database file, opened read-only."""
    name = str(path)
    if not path.is_file():
        raise fail(name, "file", f"file not found: {name}")
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(b"SQLite format 3\x00"):
        import sqlite3

        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return query(con, sql)
        finally:
            con.close()
    if head[8:12] == b"DUCK":
        try:
            import duckdb
        except ImportError:
            raise fail(name, "format", "reading a DuckDB file needs the duckdb package: "
                       "pip install duckdb") from None
        con = duckdb.connect(str(path), read_only=True)
        try:
            return query(con, sql)
        finally:
            con.close()
    raise fail(name, "format", "sql= reads SQLite or DuckDB database files; this file is "
               "neither (for another database pass con=, a connection)")
