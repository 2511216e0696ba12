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
import errno
import glob
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from .._shared import natural_key

__all__ = [
    "ReportExistsError",
    "UnsafeTargetError",
    "OutputError",
    "neutralise_cells",
    "write_csv",
    "atomic_folder",
    "write_manifest",
    "read_manifest",
    "foreign_files",
    "is_report_folder",
    "check_target",
    "unsafe_target",
    "stale_folders",
    "clean_stale",
    "writing_to",
    "output_error",
    "patient_file_names",
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


#: Name of the manifest that marks a folder as written by sma-outcomes.
MANIFEST = ".sma-outcomes-manifest.json"

#: Marker file inside a temporary folder that is still being written.
INCOMPLETE = ".sma-outcomes-incomplete"

#: Part of the name of every temporary folder (``.<target>.sma-outcomes-tmp-XXXX``).
TMP_TAG = ".sma-outcomes-tmp-"

#: Errno values that mean "the output cannot be written here", with their cause in words.
WRITE_ERRORS = {
    errno.ENOSPC: "no space left on the device (disk full)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "the file name is too long",
    errno.EFBIG: "the file is too large for the file system",
    errno.EMLINK: "too many links",
}


class UnsafeTargetError(ReportExistsError):
    """The output folder is the current folder, one of its parents or the home folder.

    Examples
    --------
    >>> issubclass(UnsafeTargetError, ReportExistsError)
    True
    """


class OutputError(OSError):
    """The report cannot be written: disk full, read-only, permission, name too long.

    Built like :class:`OSError` (``errno, cause, path``); ``str()`` is one line
    naming the path and the cause. The command line exits with code 3.

    Examples
    --------
    >>> import errno
    >>> print(OutputError(errno.ENOSPC, WRITE_ERRORS[errno.ENOSPC], "reports/x"))
    cannot write reports/x: no space left on the device (disk full)
    """

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"


def output_error(err: OSError, path: str | os.PathLike) -> OutputError | None:
    """The :class:`OutputError` for a write failure, or None for another OSError.

    Examples
    --------
    >>> import errno
    >>> str(output_error(OSError(errno.EROFS, "Read-only file system"), "r"))
    'cannot write r: the file system is read-only'
    >>> output_error(FileNotFoundError("x"), "r") is None
    True
    """
    if isinstance(err, OutputError):
        return err
    if err.errno not in WRITE_ERRORS:
        return None
    return OutputError(err.errno, WRITE_ERRORS[err.errno], str(err.filename or path))


@contextlib.contextmanager
def writing_to(path: str | os.PathLike, tmp: str | os.PathLike | None = None) -> Iterator[None]:
    """Turn write failures (disk full, read-only, ...) inside the block into :class:`OutputError`.

    The error names ``path`` (the folder the user asked for): a file inside
    the temporary folder ``tmp`` is named by its place in ``path``.

    Examples
    --------
    >>> import errno
    >>> with writing_to("out"):
    ...     raise OSError(errno.ENOSPC, "No space left on device", "out/a.png")
    Traceback (most recent call last):
    ...
    sma_outcomes.report.safety.OutputError: cannot write out/a.png: no space left on the device (disk full)
    """
    try:
        yield
    except OutputError:
        raise
    except OSError as err:
        where = Path(path)
        name = Path(err.filename) if isinstance(err.filename, (str, os.PathLike)) else None
        if name is not None:
            for root in (tmp, path):
                if root is not None and name.is_relative_to(root):
                    where = Path(path) / name.relative_to(root)
                    break
        if err.errno in WRITE_ERRORS:
            raise OutputError(err.errno, WRITE_ERRORS[err.errno], str(where)) from None
        raise


def _manifest_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.name not in (MANIFEST, INCOMPLETE))


def write_manifest(folder: str | os.PathLike) -> Path:
    """List every file of ``folder`` with its SHA-256 in ``.sma-outcomes-manifest.json``.

    The manifest is what makes a folder "one that sma-outcomes wrote": only
    such a folder is ever replaced (with ``force``), and only when its files
    are still the ones listed. It holds no time, so it is reproducible.

    Examples
    --------
    >>> import tempfile, pathlib, json
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.txt").write_text("x")
    >>> json.loads(write_manifest(d).read_text())["files"]
    {'a.txt': '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'}
    """
    folder = Path(folder)
    files = {rel: sha256_file(folder / rel) for rel in _manifest_files(folder)}
    body = {"written_by": "sma-outcomes", "manifest_version": 1, "files": files}
    path = folder / MANIFEST
    path.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_manifest(folder: str | os.PathLike) -> dict[str, str] | None:
    """The files (relative path -> SHA-256) a manifest lists, or None without a valid one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> read_manifest(tempfile.mkdtemp()) is None
    True
    """
    path = Path(folder) / MANIFEST
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = body.get("files") if isinstance(body, dict) else None
    if body.get("written_by") != "sma-outcomes" or not isinstance(files, dict):
        return None
    return {str(k): str(v) for k, v in files.items()}


def foreign_files(folder: str | os.PathLike) -> list[str]:
    """Files in a report folder that its manifest does not list, or that changed since.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "report.html").write_text("<html></html>")
    >>> _ = write_manifest(d)
    >>> _ = (d / "notes.txt").write_text("mine")
    >>> foreign_files(d)
    ['notes.txt (not written by sma-outcomes)']
    """
    folder = Path(folder)
    listed = read_manifest(folder) or {}
    out = []
    for rel in _manifest_files(folder):
        if rel not in listed:
            out.append(f"{rel} (not written by sma-outcomes)")
        elif sha256_file(folder / rel) != listed[rel]:
            out.append(f"{rel} (changed since it was written)")
    return out


def is_report_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder that sma-outcomes wrote: it holds a valid manifest.

    File names prove nothing: a folder holding ``report.html`` or ``index.html``
    but no manifest is not ours.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "report.html").write_text("<html></html>")
    >>> is_report_folder(d)
    False
    >>> _ = write_manifest(d)
    >>> is_report_folder(d)
    True
    """
    p = Path(path)
    return p.is_dir() and read_manifest(p) is not None


def unsafe_target(target: str | os.PathLike) -> str:
    """Why ``target`` may never be a report folder ("" when it may).

    The current folder, any folder above it, the home folder and any folder
    above that (the file-system root) are refused, with or without force.

    Examples
    --------
    >>> unsafe_target(".")
    'it is the current folder'
    >>> unsafe_target("reports/new")
    ''
    """
    t = Path(target).expanduser().resolve()
    cwd, home = Path.cwd().resolve(), Path.home().resolve()
    if t == cwd:
        return "it is the current folder"
    if t in cwd.parents:
        return "it holds the current folder"
    if t == home:
        return "it is the home folder"
    if t in home.parents or t.parent == t:
        return "it holds the home folder"
    return ""


def check_target(target: str | os.PathLike, *, force: bool) -> None:
    """Raise :class:`ReportExistsError` unless a report may be written at ``target``.

    - the current folder, its parents and the home folder: always refused
      (:class:`UnsafeTargetError`);
    - a folder that does not exist: free;
    - an existing one: only with ``force``, only when it holds the manifest
      of sma-outcomes (:func:`is_report_folder`), and only when every file in
      it is one the manifest lists, unchanged (:func:`foreign_files`). A
      folder holding anything else is refused and left untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> check_target(d / "new", force=False)
    >>> check_target(d, force=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sma_outcomes.report.safety.ReportExistsError: ... is not a report folder made by sma-outcomes ...
    """
    why = unsafe_target(target)
    if why:
        raise UnsafeTargetError(f"{target} cannot be a report folder: {why}")
    target = Path(target)
    if not target.exists() and not target.is_symlink():
        return
    if not force:
        raise ReportExistsError(f"{target} already exists")
    if target.is_symlink() or not target.is_dir():
        raise ReportExistsError(f"{target} exists and is not a report folder made by "
                                "sma-outcomes (not a folder), so it is not replaced even "
                                "with --force")
    if not is_report_folder(target):
        raise ReportExistsError(
            f"{target} exists and is not a report folder made by sma-outcomes (it has no "
            f"{MANIFEST}), so it is not replaced even with --force")
    foreign = foreign_files(target)
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise ReportExistsError(
            f"{target} is a report folder made by sma-outcomes but holds "
            f"{', '.join(foreign[:3])}{more}, so it is not replaced even with --force")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours
        return True
    return True


def stale_folders(parent: str | os.PathLike, name: str) -> tuple[list[Path], list[Path]]:
    """Temporary folders of earlier runs for the report ``name`` in ``parent``.

    Only folders that this tool provably made count: the name is
    ``.<name>.sma-outcomes-tmp-*`` and they hold the marker file
    ``.sma-outcomes-incomplete`` with the process id that wrote them.

    Returns
    -------
    tuple of lists
        (left by a process that has ended on this machine: safe to remove;
        possibly still being written by a running process or another machine).

    Examples
    --------
    >>> import tempfile
    >>> stale_folders(tempfile.mkdtemp(), "report")
    ([], [])
    """
    parent = Path(parent)
    dead: list[Path] = []
    busy: list[Path] = []
    try:
        candidates = sorted(parent.glob(f".{glob.escape(name)}{TMP_TAG}*"))
    except OSError:
        return dead, busy
    for p in candidates:
        marker = p / INCOMPLETE
        if p.is_symlink() or not p.is_dir() or not marker.is_file():
            continue
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
            pid, host = int(info["pid"]), str(info["host"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if host == socket.gethostname() and not _alive(pid):
            dead.append(p)
        else:
            busy.append(p)
    return dead, busy


def clean_stale(parent: str | os.PathLike, name: str) -> list[Path]:
    """Remove the temporary folders killed runs left for ``name``; return the others.

    Examples
    --------
    >>> import tempfile
    >>> clean_stale(tempfile.mkdtemp(), "report")
    []
    """
    dead, busy = stale_folders(parent, name)
    for p in dead:
        shutil.rmtree(p, ignore_errors=True)
    for p in busy:
        warnings.warn(f"{p} is a temporary folder of another sma-outcomes run (still running, "
                      "or from another machine); it was left alone: it is not a report and "
                      "may be deleted once that run has ended", stacklevel=3)
    return busy


def _make_tmp(target: Path) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}{TMP_TAG}", dir=target.parent))
    info = {"pid": os.getpid(), "host": socket.gethostname(), "target": target.name}
    (tmp / INCOMPLETE).write_text(json.dumps(info, sort_keys=True) + "\n", encoding="utf-8")
    return tmp


def _remove_listed(folder: Path, listed: dict[str, str]) -> bool:
    """Delete the files a manifest listed (and the manifest, empty folders); True if emptied."""
    for rel in listed:
        with contextlib.suppress(FileNotFoundError):
            (folder / rel).unlink()
    for name in (MANIFEST, INCOMPLETE):
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
    for d in sorted((p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink()),
                    key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            d.rmdir()
    try:
        folder.rmdir()
    except OSError:
        return False
    return True


@contextlib.contextmanager
def atomic_folder(target: str | os.PathLike, *, force: bool = False) -> Iterator[Path]:
    """Build a folder in a temporary place next to ``target``, then rename it into place.

    An interrupted run leaves no half-written folder at ``target``: either the
    old complete folder or the new complete one is there. The temporary
    folder (``.<name>.sma-outcomes-tmp-XXXX``, holding the marker
    ``.sma-outcomes-incomplete``) never carries the manifest, so it never
    passes for a report; the next run for the same target removes such
    folders left by killed runs, and names those of runs still going.

    Parameters
    ----------
    target : path
        Final folder.
    force : bool
        Replace an existing ``target`` (only a folder that sma-outcomes wrote
        and nobody changed since, see :func:`check_target`); without it an
        existing target raises :class:`ReportExistsError` before any work is done.

    Yields
    ------
    Path
        The temporary folder to write into. When the block ends, every file in
        it is listed in ``.sma-outcomes-manifest.json``.

    Raises
    ------
    ReportExistsError
        See :func:`check_target` (checked on entry and again before replacing).
    OutputError
        The folder cannot be written (disk full, read-only, permission, name
        too long); nothing is left behind.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "report"
    >>> with atomic_folder(target) as tmp:
    ...     _ = (tmp / "a.txt").write_text("x")
    >>> sorted(p.name for p in target.iterdir())
    ['.sma-outcomes-manifest.json', 'a.txt']
    """
    target = Path(target)
    check_target(target, force=force)
    tmp: Path | None = None
    try:
        with writing_to(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            clean_stale(target.parent, target.name)
            tmp = _make_tmp(target)
        with writing_to(target, tmp):
            yield tmp
            write_manifest(tmp)
            (tmp / INCOMPLETE).unlink()
            mask = os.umask(0o022)  # mkdtemp made it private; a report folder is not
            os.umask(mask)
            tmp.chmod(0o777 & ~mask)
            check_target(target, force=force)  # nothing changed in the meantime
            old = None
            if target.exists():
                listed = read_manifest(target) or {}
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}{TMP_TAG}", dir=target.parent))
                (old / INCOMPLETE).write_text(json.dumps(
                    {"pid": os.getpid(), "host": socket.gethostname()}) + "\n", encoding="utf-8")
                os.replace(target, old / target.name)
            os.replace(tmp, target)
            tmp = None
        if old is not None:
            if _remove_listed(old / target.name, listed):
                shutil.rmtree(old, ignore_errors=True)
            else:
                warnings.warn(f"files added to {target} while the report was being written "
                              f"were kept in {old / target.name}", stacklevel=3)
    finally:
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def patient_file_names(ids: Sequence[object], max_length: int = 60) -> dict[str, str]:
    """File-name stems for patient ids: unique, portable, bounded in length.

    An id made only of ASCII letters, digits, ``.``, ``_`` and ``-`` (not
    starting with a dot, not a reserved Windows device name such as ``CON``
    or ``COM1``, at most ``max_length`` characters, not clashing with another
    id when case is ignored, as on Windows and macOS disks) is its own name.
    Any other id becomes its first characters (others than letters, digits,
    ``_`` and ``-`` replaced by ``_``), ``-`` and 12 hex
    digits of its SHA-256, so a 300-character id or one in another script
    still works and two ids never share a file.

    Examples
    --------
    >>> names = patient_file_names(["GK01", "P 01", "p 01", "CON", "x" * 300])
    >>> names["GK01"], names["P 01"], names["CON"]
    ('GK01', 'P_01-a058bef8f0c8', 'CON-a3dbc4b644a9')
    >>> len(names["x" * 300]) <= 60
    True
    """
    uniq = list(dict.fromkeys(str(i) for i in ids))
    folded: dict[str, int] = {}
    for i in uniq:
        folded[i.lower()] = folded.get(i.lower(), 0) + 1
    out: dict[str, str] = {}
    for i in uniq:
        clean = re.sub(r"[^A-Za-z0-9._-]", "_", i).lstrip(".")
        stem = clean.split(".")[0].upper()
        plain = (clean == i and 0 < len(i) <= max_length and stem not in _RESERVED
                 and folded[i.lower()] == 1 and not i.endswith("."))
        if plain:
            out[i] = i
            continue
        digest = hashlib.sha256(i.encode("utf-8", "surrogatepass")).hexdigest()
        head = clean.replace(".", "_")[: max(1, max_length - 13)] or "patient"
        out[i] = f"{head}-{digest[:12]}"
    taken = [n.lower() for n in out.values()]
    if len(set(taken)) < len(taken):  # a plain id equal to another's hashed name
        for i in uniq:
            digest = hashlib.sha256(i.encode("utf-8", "surrogatepass")).hexdigest()
            head = re.sub(r"[^A-Za-z0-9_-]", "_", i)[: max(1, max_length - 25)]
            out[i] = f"{head or 'patient'}-{digest[:24]}"
    return out


#: Names Windows reserves for devices, whatever the extension.
_RESERVED = frozenset(["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
                      + [f"COM{i}" for i in range(10)] + [f"LPT{i}" for i in range(10)]
                      + ["COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³"])


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
