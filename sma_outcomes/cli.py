"""Command line: ``sma-outcomes``.

Heavy libraries (pandas, scipy, matplotlib) are imported inside the commands,
so ``sma-outcomes --help`` answers at once.

Exit codes: 0 success, 1 the data have problems, 2 usage errors or a missing file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._version import __version__

EXAMPLES = """\
examples:
  sma-outcomes validate data/sample/case_series.csv
  sma-outcomes validate clinic.xlsx --sheet "HFMSE export" --skiprows 1 --dayfirst
"""

VALIDATE_EXAMPLES = """\
examples:
  sma-outcomes validate data/sample/case_series.csv
  sma-outcomes validate data/sample/clinic_export.xlsx --skiprows 1 --dayfirst
  sma-outcomes validate export.csv --sep ";" --decimal , --encoding cp1252

exit codes: 0 clean, 1 the data have errors, 2 usage error or missing file
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors plus a hint, exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\nhint: run '{self.prog} --help'\n")


def _reading_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("reading options")
    g.add_argument("--sheet", metavar="NAME", help="Excel sheet name or number (default: first)")
    g.add_argument("--skiprows", type=int, metavar="N", help="lines above the header to skip")
    d = g.add_mutually_exclusive_group()
    d.add_argument("--dayfirst", action="store_true", default=None,
                   help="dates are written day first (dd/mm/yyyy)")
    d.add_argument("--monthfirst", action="store_true", default=None,
                   help="dates are written month first (mm/dd/yyyy)")
    g.add_argument("--encoding", metavar="NAME", help="text encoding (default UTF-8)")
    g.add_argument("--sep", metavar="CHAR", help="field separator (default: sniffed)")
    g.add_argument("--decimal", metavar="CHAR", help="decimal separator (default . or sniffed ,)")
    g.add_argument("--purdue", choices=["single", "mean3", "sum3"], default="single",
                   help="how Purdue values were aggregated (sum3 allows 0..75)")


def reading_kwargs(args: argparse.Namespace) -> dict:
    """Loader options from parsed command-line arguments."""
    out: dict = {}
    if args.sheet is not None:
        out["sheet_name"] = int(args.sheet) if args.sheet.isdigit() else args.sheet
    for name in ("skiprows", "encoding", "sep", "decimal"):
        value = getattr(args, name)
        if value is not None:
            out[name] = "\t" if name == "sep" and value in ("\\t", "tab") else value
    if args.dayfirst:
        out["dayfirst"] = True
    elif args.monthfirst:
        out["dayfirst"] = False
    if args.purdue != "single":
        out["purdue"] = args.purdue
    return out


def build_parser() -> argparse.ArgumentParser:
    """The ``sma-outcomes`` argument parser."""
    parser = _Parser(
        prog="sma-outcomes",
        description="Analyse SMA motor-function outcomes (HFMSE, RULM, Purdue Pegboard).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sma-outcomes {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    v = sub.add_parser(
        "validate",
        help="check a data file and list every problem",
        description="Read a score file, list every problem as a table and summarise.",
        epilog=VALIDATE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    v.add_argument("file", help="CSV, TSV, XLSX or XPT file of scores")
    _reading_options(v)
    return parser


def _validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    path = Path(args.file)
    if not path.exists():
        print(f"sma-outcomes: error: file not found: {args.file}\n"
              "hint: check the path (relative to the current folder)", file=sys.stderr)
        return 2
    from .load import check_scores, read_scores

    options = reading_kwargs(args)
    problems = check_scores(path, **options)
    errors = int((problems["severity"] == "error").sum()) if len(problems) else 0
    warnings_n = len(problems) - errors
    if len(problems):
        print(format_problems(problems))
    if errors:
        print(f"{args.file}: {errors} error(s), {warnings_n} warning(s): the data were not read.")
        return 1
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = read_scores(path, **options)
    n_pat = scores["patient_id"].nunique()
    n_vis = scores[["patient_id", "visit", "date", "day"]].drop_duplicates().shape[0]
    measures = _measure_list(scores["measure"].unique())
    missing = int(scores["score"].isna().sum())
    print(f"{args.file}: OK: {len(scores)} scores from {n_pat} patients, {n_vis} assessments; "
          f"measures {measures}; {missing} missing score(s); {warnings_n} warning(s).")
    return 0


def _measure_list(codes) -> str:  # noqa: ANN001
    """Measure codes with item codes folded: 'HFMSE, HFMSE items (33)'."""
    from .registry import SCALES

    totals = sorted(c for c in codes if SCALES[c].parent is None or not SCALES[c].in_total)
    items: dict[str, int] = {}
    for c in codes:
        parent = SCALES[c].parent
        if parent and SCALES[c].in_total:
            items[parent] = items.get(parent, 0) + 1
    return ", ".join(totals + [f"{p} items ({n})" for p, n in sorted(items.items())])


def format_problems(problems) -> str:  # noqa: ANN001 - a DataFrame
    """Problems as a fixed-width text table."""
    cols = ["severity", "row", "column", "value", "message"]
    table = problems[cols].copy()
    table["row"] = table["row"].astype("object").where(table["row"].notna(), "")
    table = table.fillna("").astype(str)
    widths = {c: min(max(len(c), *(len(v) for v in table[c])), 40) for c in cols}
    widths["message"] = len("message")
    lines = ["  ".join(c.ljust(widths[c]) for c in cols)]
    lines.append("  ".join("-" * widths[c] for c in cols))
    for _, r in table.iterrows():
        cells = [str(r[c])[: widths[c]].ljust(widths[c]) for c in cols[:-1]]
        lines.append("  ".join([*cells, str(r["message"])]))
    return "\n".join(lines)


COMMANDS = {"validate": _validate}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sma-outcomes`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from .exceptions import DataError

    try:
        return COMMANDS[args.command](args)
    except DataError as err:
        first = str(err).splitlines()
        print(f"sma-outcomes: data error: {first[0]}", file=sys.stderr)
        for line in first[1:]:
            print(line, file=sys.stderr)
        return 1
    except (FileNotFoundError, IsADirectoryError, PermissionError) as err:
        print(f"sma-outcomes: error: {err}\nhint: check the path", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
