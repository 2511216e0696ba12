"""Safe output: CSV formula neutralisation, atomic folders, pseudonyms, hashes.

HTML escaping is done by the jinja2 environment (autoescape on) in
:mod:`sma_outcomes.report.render`; this module holds the rest of what keeps
reports safe to open and safe to share.

Examples
--------
>>> import pandas as pd
>>> neutralise_cells(pd.DataFrame({"id": ["=1+1", "P1"], "change": [-3.0, 2.0]}))
      id  change
0  '=1+1    -3.0
1     P1     2.0
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from .._shared import natural_key

__all__ = [
    "ReportExistsError",
    "neutralise_cells",
    "write_csv",
    "atomic_folder",
    "is_report_folder",
    "check_target",
    "pseudonym_map",
    "pseudonymize_table",
    "sha256_file",
]

#: First characters that make a spreadsheet read a text cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: Environment variable holding the key for keyed pseudonyms.
KEY_VARIABLE = "SMA_OUTCOMES_PSEUDONYM_KEY"


class ReportExistsError(FileExistsError):
    """The target report folder exists and ``force`` was not given.

    Examples
    --------
    >>> issubclass(ReportExistsError, FileExistsError)
    True
    """


def _neutral(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise_cells(table: pd.DataFrame) -> pd.DataFrame:
    """Prefix a single quote to text cells that a spreadsheet would run as a formula.

    Text cells (and column names) starting with ``=``, ``+``, ``-``, ``@``, a
    tab or a carriage return get a leading ``'`` (OWASP's advice against CSV
    injection). Numeric columns are left alone, so a change of -3 stays the
    number -3.

    Parameters
    ----------
    table : DataFrame
        Any table; not modified.

    Returns
    -------
    DataFrame
        A copy with the text cells neutralised.

    Examples
    --------
    >>> import pandas as pd
    >>> t = neutralise_cells(pd.DataFrame({"id": ["@SUM(A1)", "-x", "ok"], "d": [-1, 0, 1]}))
    >>> t["id"].tolist(), t["d"].tolist()
    (["'@SUM(A1)", "'-x", 'ok'], [-1, 0, 1])
    """
    out = table.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
            continue
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        out[col] = s.map(_neutral).astype(object)
    out.columns = [_neutral(str(c)) for c in out.columns]
    return out


def write_csv(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table as UTF-8 CSV, neutralised, with a fixed float format.

    Floats are written with 10 significant digits so that the file does not
    change with the last bits of a computation; missing values are empty.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = write_csv(pd.DataFrame({"id": ["=cmd"], "change": [-2.5]}), p)
    >>> p.read_text().splitlines()
    ['id,change', "'=cmd,-2.5"]
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    neutralise_cells(table).to_csv(path, index=False, float_format="%.10g", lineterminator="\n")
    return path


@contextlib.contextmanager
def atomic_folder(target: str | os.PathLike, *, force: bool = False) -> Iterator[Path]:
    """Build a folder in a temporary place next to ``target``, then rename it into place.

    An interrupted run leaves no half-written folder at ``target``: either the
    old complete folder or the new complete one is there.

    Parameters
    ----------
    target : path
        Final folder.
    force : bool
        Replace an existing ``target`` (only a folder that sma-outcomes wrote, see
        :func:`is_report_folder`, never any other folder or file); without it an
        existing target raises :class:`ReportExistsError` before any work is done.

    Yields
    ------
    Path
        The temporary folder to write into.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "report"
    >>> with atomic_folder(target) as tmp:
    ...     _ = (tmp / "a.txt").write_text("x")
    >>> sorted(p.name for p in target.iterdir())
    ['a.txt']
    """
    target = Path(target)
    check_target(target, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, old / target.name)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


#: Files of which at least one is in every folder that sma-outcomes writes.
REPORT_MARKERS = ("report.html", "report.md", "report.pdf", "index.html")


def is_report_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder written by sma-outcomes (and may be replaced with force).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> is_report_folder(d)
    False
    >>> _ = (d / "report.html").write_text("<html></html>")
    >>> is_report_folder(d)
    True
    """
    p = Path(path)
    return p.is_dir() and any((p / m).is_file() for m in REPORT_MARKERS)


def check_target(target: str | os.PathLike, *, force: bool) -> None:
    """Raise :class:`ReportExistsError` unless a report may be written at ``target``.

    Free when it does not exist; with ``force`` also when it is a report folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> check_target(d / "new", force=False)
    >>> check_target(d, force=True)
    Traceback (most recent call last):
    ...
    sma_outcomes.report.safety.ReportExistsError: ... is not a report folder made by sma-outcomes ...
    """
    target = Path(target)
    if not target.exists():
        return
    if not force:
        raise ReportExistsError(f"{target} already exists")
    if not is_report_folder(target):
        raise ReportExistsError(
            f"{target} exists and is not a report folder made by sma-outcomes (it holds no "
            f"{', '.join(REPORT_MARKERS)}), so it is not replaced even with --force"
        )


def pseudonym_map(ids: Sequence[object], key: str | bytes | None = None) -> dict[str, str]:
    """Stable pseudonyms for patient ids.

    With a key (argument, or the environment variable
    ``SMA_OUTCOMES_PSEUDONYM_KEY``): ``"P-"`` + the first 8 hex digits of
    HMAC-SHA-256(key, id), the same code in every report made with that key.
    Without a key: ``P01``, ``P02``, ... in the order of the ids' SHA-256
    digests, so codes do not reveal the order of the original ids; stable for
    the same set of ids.

    Examples
    --------
    >>> pseudonym_map(["GK01", "GK02"], key="secret")
    {'GK01': 'P-f5194f43', 'GK02': 'P-d397f4c8'}
    >>> sorted(pseudonym_map(["A", "B", "C"]).values())
    ['P01', 'P02', 'P03']
    """
    uniq = sorted({str(i) for i in ids}, key=natural_key)
    if key is None:
        key = os.environ.get(KEY_VARIABLE) or None
    if key is not None:
        k = key.encode() if isinstance(key, str) else key
        out = {i: "P-" + hmac.new(k, i.encode(), hashlib.sha256).hexdigest()[:8] for i in uniq}
        if len(set(out.values())) < len(out):  # a collision in 32 bits: lengthen all
            out = {i: "P-" + hmac.new(k, i.encode(), hashlib.sha256).hexdigest()[:16] for i in uniq}
        return out
    order = sorted(uniq, key=lambda i: hashlib.sha256(i.encode()).hexdigest())
    width = max(2, len(str(len(order))))
    return {i: f"P{n:0{width}d}" for n, i in enumerate(order, start=1)}


#: Columns dropped by :func:`pseudonymize_table` (direct dates identify people).
IDENTIFYING_COLUMNS = ("date", "birth_date", "date_of_birth", "dob", "first_dose_date", "name")


def pseudonymize_table(table: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    """Replace ``patient_id`` by its code and drop calendar dates.

    Study days (``day``) stay, so every analysis is unchanged; calendar dates
    and birth dates (:data:`IDENTIFYING_COLUMNS`) are removed.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"patient_id": ["GK01"], "date": [pd.Timestamp("2020-01-01")],
    ...                   "day": [0.0]})
    >>> pseudonymize_table(t, {"GK01": "P01"})
      patient_id  day
    0        P01  0.0
    """
    out = table.drop(columns=[c for c in table.columns if c.lower() in IDENTIFYING_COLUMNS])
    out["patient_id"] = out["patient_id"].astype(str).map(mapping)
    return out


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, as hex.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
