"""Checks on patient ids and on rows that are not patients (summary rows).

Ids that differ only by case, surrounding spaces or invisible characters
(zero-width space, no-break space, byte-order mark, soft hyphen, ...) are
probably one patient typed or pasted twice: the loader refuses them with the
rows of each spelling. Ids written with and without surrounding spaces are read
as one patient, with a warning. Messages show invisible characters escaped
(``'P1\\u200b'``).

Rows under the data whose id (or visit) reads "Mean", "Total", "SD", "Median",
"n", ... are summary rows a spreadsheet user added; they are refused with their
row, never read as a patient.

Examples
--------
>>> show("P1\\u200b"), show("P\\xa01")
("'P1\\\\u200b'", "'P\\\\xa01'")
>>> id_key(" p1\\u200b "), is_summary("Std. dev."), is_summary("P01")
('p1', True, False)
"""

from __future__ import annotations

import unicodedata

import numpy as np

from .columns import normalise
from .problems import Problems

#: Labels of summary rows (compared after normalising: case, spaces, punctuation).
SUMMARY_LABELS = frozenset(normalise(w) for w in (
    "mean", "means", "average", "avg", "total", "totals", "grand total", "sum", "sd", "s.d.",
    "std", "stdev", "std dev", "std. dev.", "standard deviation", "se", "sem", "median", "n",
    "count", "min", "minimum", "max", "maximum", "range", "iqr", "q1", "q3", "mean (sd)",
    "mean ± sd", "mittelwert", "summe", "gesamt", "moyenne", "total général", "media",
    "mediana", "totale", "promedio",
))

_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\u200e",
              "\u200f"}


def is_summary(text: str) -> bool:
    """Whether a cell's text is the label of a summary row."""
    if not text or len(text) > 24 or text[-1].isdigit():
        return False  # patient ids mostly end with a digit: no regex for them
    return normalise(text) in SUMMARY_LABELS


def id_key(text: str) -> str:
    """An id without case, surrounding spaces or invisible characters."""
    if text.isascii() and text.isprintable():
        return text.strip().lower()
    clean = "".join(ch for ch in unicodedata.normalize("NFKC", str(text))
                    if ch not in _INVISIBLE and unicodedata.category(ch) != "Cf")
    return clean.replace("\xa0", " ").strip().casefold()


def show(text: object) -> str:
    """A value quoted with invisible and non-printing characters escaped."""
    out = []
    for ch in str(text):
        if ch in _INVISIBLE or not ch.isprintable():
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "'" + "".join(out).replace("'", "\\'") + "'"


def _rows_text(rows: np.ndarray, most: int = 3) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:most])
    more = f" and {len(rows) - most} more" if len(rows) > most else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def check_ids(texts: np.ndarray, codes: np.ndarray, raw: list, raw_codes: np.ndarray,
              raw_to_text: np.ndarray, rows: np.ndarray, column: str,
              problems: Problems) -> None:
    """Flag ids that differ only by case, spaces or invisible characters.

    Parameters
    ----------
    texts : array of str
        Distinct cleaned ids (trimmed); ``codes`` gives each row's index into them.
    raw : list
        Distinct raw cells; ``raw_codes`` gives each row's index (-1 for blank) and
        ``raw_to_text`` the cleaned id of each raw cell.
    """
    keys = [t.strip().lower() if t.isascii() and t.isprintable() else id_key(t) for t in texts]
    groups: dict[str, list[int]] = {}
    if len(set(keys)) < len(keys):  # some ids collide once case and invisibles are gone
        for i, k in enumerate(keys):
            if k:
                groups.setdefault(k, []).append(i)
    clashes = [g for g in groups.values() if len(g) > 1]
    if clashes:
        first = _first_rows(codes, rows, len(texts))
        for g in clashes:
            spelled = "; ".join(f"{show(texts[i])} ({_rows_text(first[i])})" for i in g)
            problems.add(
                "patient_id",
                f"patient ids {spelled} differ only by case, surrounding spaces or invisible "
                "characters: probably one patient written two ways; correct them to one "
                "spelling",
                row=int(min(first[i][0] for i in g)), column=column, value=texts[g[1]],
            )
    # one id written with and without surrounding spaces: one patient, said once
    counts = np.bincount(np.asarray(raw_to_text, dtype=np.int64), minlength=len(texts))
    merged = np.flatnonzero(counts > 1)
    if len(merged):
        first = _first_rows(raw_codes, rows, len(raw))
        for t in merged[:10]:
            js = [j for j in np.flatnonzero(raw_to_text == t) if isinstance(raw[j], str)]
            if len(js) < 2 or not texts[t]:
                continue
            spelled = ", ".join(f"{show(raw[j])} ({_rows_text(first[j], 2)})" for j in js)
            problems.add(
                "patient_id",
                f"patient id {show(texts[t])} is written with and without surrounding spaces "
                f"({spelled}); read as one patient",
                row=int(min(first[j][0] for j in js)), column=column, value=texts[t],
                severity="warning",
            )


def _first_rows(codes: np.ndarray, rows: np.ndarray, n: int) -> list[np.ndarray]:
    """Spreadsheet rows of each code (in order), for the codes 0..n-1."""
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.searchsorted(sorted_codes, np.arange(n), side="left")
    ends = np.searchsorted(sorted_codes, np.arange(n), side="right")
    return [rows[order[s:e]] for s, e in zip(starts, ends, strict=True)]


def check_summary_rows(texts: np.ndarray, codes: np.ndarray, rows: np.ndarray, column: str,
                       problems: Problems) -> np.ndarray:
    """Refuse rows whose ``column`` holds a summary label; return their mask."""
    labels = np.array([is_summary(t) for t in texts] + [False], dtype=bool)
    if not labels.any():
        return np.zeros(len(codes), dtype=bool)
    mask = labels[np.where(codes < 0, len(texts), codes)]
    for r in np.unique(rows[mask]):
        at = int(np.flatnonzero(rows == r)[0])
        text = texts[codes[at]]
        problems.add(
            "summary_row",
            f"this looks like a summary row ({show(text)} in column {column!r}), not a "
            "patient's scores; delete summary rows (Mean, Total, SD, ...) under the data, or "
            "export only the data rows",
            row=int(r), column=column, value=text,
        )
    return mask
