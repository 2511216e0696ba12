"""Command line: ``sma-outcomes``.

Heavy libraries (pandas, scipy, matplotlib) are imported inside the commands,
so ``sma-outcomes --help`` answers at once.

Exit codes: 0 success, 1 the data have problems, 2 usage errors, a missing file or a
refused output folder, 3 the output could not be written (disk full, read-only,
permission denied, name too long), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._version import __version__

EXAMPLES = """\
examples:
  sma-outcomes reproduce case-series
  sma-outcomes validate data/sample/case_series.csv
  sma-outcomes validate clinic.xlsx --sheet "HFMSE export" --skiprows 1 --dayfirst
  sma-outcomes report data/sample/cohort.csv --format html,md,pdf --timepoint "Month 18"

run 'sma-outcomes COMMAND --help' for the options of a command.
exit codes: 0 success, 1 the data have problems, 2 usage error or missing file,
            3 output not writable (disk full, read-only, permission, name too long)
"""

REPORT_EXAMPLES = """\
examples:
  sma-outcomes report data/sample/case_series.csv
  sma-outcomes report data/sample/cohort.csv --out reports/cohort --format html,md,pdf
  sma-outcomes report clinic.xlsx --skiprows 1 --dayfirst --measures HFMSE RULM \\
      --timepoint "Month 14" --schedule doses.csv --windows windows.csv --pseudonymize
  sma-outcomes report data/sample/cohort.csv --events data/sample/events.csv --sem HFMSE=1.2
  sma-outcomes report exports/ --out reports/clinic --jobs 2     (one report per file + index)

output: OUT/report.html (self-contained), OUT/tables/*.csv, OUT/figures/*.png (and
        .svg/.pdf with --figure-formats), OUT/figures/patients/, and report.md /
        report.pdf (typeset with Typst) when asked. Progress goes to stderr (--quiet).
--force replaces only a folder that sma-outcomes wrote (it holds
.sma-outcomes-manifest.json) and whose files are unchanged; '.', its parents and
the home folder are always refused.
exit codes: 0 every report written, 1 data problems (in any input), 2 usage error,
            missing file, or OUT refused (exists without --force, not ours, unsafe),
            3 OUT cannot be written (disk full, read-only, permission, name too long)
"""

REPRODUCE_EXAMPLES = """\
examples:
  sma-outcomes reproduce case-series
  sma-outcomes reproduce case-series --out reports/case-series --force
  sma-outcomes reproduce case-series --sem HFMSE=1.2      (reliable change per child)

case-series: the Gu & Kong 2021 analysis on data/sample/case_series.csv (HFMSE and
Purdue Pegboard, baseline versus Month 18): per-patient table, the published ranges
computed from the data, paired tests with the smallest attainable p, figures.
exit codes: 0 written, 2 OUT exists without --force or the sample data are missing,
            3 OUT cannot be written (disk full, read-only, permission, name too long)
"""

VALIDATE_EXAMPLES = """\
examples:
  sma-outcomes validate data/sample/case_series.csv
  sma-outcomes validate data/sample/clinic_export.xlsx --skiprows 1 --dayfirst
  sma-outcomes validate export.csv --sep ";" --decimal , --encoding cp1252
  sma-outcomes validate clinic.xlsx --sheet scores --columns "Kind=patient_id" --ignore Notes
  sma-outcomes validate registry.sqlite --sql "SELECT * FROM motor_scores"

Excel sheets are named in any case or numbered from 0 (--sheet 0 is the first).
validate also fails when the file has no visit date or study-day column, which the
analysis needs.

exit codes: 0 clean, 1 the data have errors, 2 usage error or missing file
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors plus a hint, exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\nhint: run '{self.prog} --help'\n")


def _reading_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "reading options",
        "the options of read_scores(), with the same meaning (see help(sma_outcomes.read_scores))")
    g.add_argument("--sheet", metavar="NAME|N",
                   help="Excel sheet: a name in any case, or a number counted from 0 "
                   "(default: the first sheet, 0)")
    g.add_argument("--skiprows", type=_count, metavar="N", help="lines above the header to skip")
    d = g.add_mutually_exclusive_group()
    d.add_argument("--dayfirst", action="store_true", default=None,
                   help="dates are written day first (dd/mm/yyyy)")
    d.add_argument("--monthfirst", action="store_true", default=None,
                   help="dates are written month first (mm/dd/yyyy)")
    g.add_argument("--encoding", metavar="NAME",
                   help="text encoding (default UTF-8; UTF-16/32 with a byte-order mark are "
                   "recognised)")
    g.add_argument("--sep", metavar="CHAR", help="field separator (default: sniffed; tab: \\t)")
    g.add_argument("--decimal", metavar="CHAR", help="decimal separator (default . or sniffed ,)")
    g.add_argument("--columns", nargs="+", action="extend", metavar="OLD=NEW", type=_mapping,
                   help="map a column to a role (patient_id, visit, date, day, "
                   "first_dose_date, measure, score, handedness) or a measure code, e.g. "
                   "--columns 'Kind=patient_id' 'Grob=HFMSE'")
    g.add_argument("--ignore", nargs="+", action="extend", metavar="COLUMN",
                   help="columns to leave out, as if the file did not have them")
    g.add_argument("--purdue", choices=["single", "mean3", "sum3"], default="single",
                   type=str.lower, help="how Purdue values were aggregated (sum3 allows 0..75)")
    g.add_argument("--sql", metavar="QUERY",
                   help="read the result of this query from a SQLite or DuckDB database FILE")


def _count(value: str) -> int:
    """A whole number >= 0 (argparse type)."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {value!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, not {value!r}")
    return n


def _mapping(value: str) -> tuple[str, str]:
    """OLD=NEW (argparse type); the last '=' separates, so OLD may hold '='."""
    old, eq, new = value.rpartition("=")
    if not eq or not old.strip() or not new.strip():
        raise argparse.ArgumentTypeError(f"expected OLD=NEW (e.g. 'Kind=patient_id'), not "
                                         f"{value!r}")
    return old.strip(), new.strip()


def timepoint_label(value: str) -> str:
    """A timepoint as the timeline writes it, whatever its capitalisation.

    >>> timepoint_label("MONTH 18"), timepoint_label("baseline"), timepoint_label("m6")
    ('Month 18', 'Baseline', 'M6')
    """
    return " ".join(w[:1].upper() + w[1:].lower() for w in value.split())


def reading_kwargs(args: argparse.Namespace) -> dict:
    """Loader options from parsed command-line arguments (only those given)."""
    out: dict = {}
    if args.sheet is not None:
        sheet = args.sheet.strip()
        out["sheet_name"] = int(sheet) if sheet.isdigit() else sheet
    for name in ("skiprows", "encoding", "sep", "decimal"):
        value = getattr(args, name)
        if value is not None:
            out[name] = "\t" if name == "sep" and value in ("\\t", "tab", "TAB") else value
    if args.dayfirst:
        out["dayfirst"] = True
    elif args.monthfirst:
        out["dayfirst"] = False
    if getattr(args, "columns", None):
        out["columns"] = dict(args.columns)
    if getattr(args, "ignore", None):
        out["ignore"] = list(args.ignore)
    if args.purdue != "single":
        out["purdue"] = args.purdue
    if getattr(args, "sql", None):
        out["sql"] = args.sql
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
    v.add_argument("file", help="score file: CSV/TSV/TXT, XLSX, Parquet, XPT/SAS7BDAT, or a "
                   "SQLite/DuckDB database with --sql")
    _reading_options(v)
    _report_parser(sub)
    r = sub.add_parser(
        "reproduce",
        help="regenerate a published analysis from the bundled data",
        description="Regenerate a published analysis from the bundled sample data.",
        epilog=REPRODUCE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("analysis", choices=["case-series"], help="which analysis (case-series)")
    r.add_argument("--out", metavar="FOLDER", default="reports/case-series",
                   help="report folder (default reports/case-series)")
    r.add_argument("--force", action="store_true", help="replace an existing report folder")
    r.add_argument("--sem", action="append", metavar="MEASURE=VALUE",
                   help="standard error of measurement for reliable change, e.g. "
                   "--sem HFMSE=1.2 (repeatable)")
    r.add_argument("--reference", action="append", metavar="NAME",
                   help="natural-history reference (repeatable; 'none' for none)")
    return parser


def _report_parser(sub) -> None:  # noqa: ANN001 - argparse's private subparsers action
    p = sub.add_parser(
        "report",
        help="analyse score files and write self-contained reports",
        description="Analyse one or more score files and write a self-contained HTML report "
        "(tables as CSV, figures as PNG/SVG; Markdown and PDF on request). Several files "
        "or a folder give one report each plus an index page.",
        epilog=REPORT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", nargs="+", metavar="DATA", help="score file(s) or a folder of them")
    p.add_argument("--out", metavar="FOLDER",
                   help="report folder (default reports/<file name>; reports/batch for several)")
    p.add_argument("--format", default="html", metavar="LIST",
                   help="comma-separated documents among html, md, pdf (default html)")
    p.add_argument("--measures", nargs="+", metavar="CODE",
                   help="measure codes to analyse (default: every total in the data)")
    p.add_argument("--timepoint", metavar="LABEL", type=timepoint_label,
                   help='timepoint compared with baseline, e.g. "Month 18" (default: the last '
                   "one at which at least half of the patients have a score)")
    p.add_argument("--schedule", default="nusinersen", metavar="NAME|FILE",
                   help="built-in dosing schedule (nusinersen, nusinersen_us, "
                   "nusinersen_high_dose, onasemnogene, risdiplam) or a file of real nusinersen "
                   "doses per patient (patient_id, date or day)")
    p.add_argument("--doses", metavar="FILE",
                   help="real doses per patient (patient_id, date or day) for the --schedule "
                   "named, e.g. --schedule nusinersen_high_dose --doses doses.csv")
    p.add_argument("--windows", metavar="FILE",
                   help="visit windows table: label, lo, hi and optional target, anchor")
    p.add_argument("--pseudonymize", action="store_true",
                   help="replace patient ids by stable codes everywhere and leave out dates "
                   "(keyed codes when SMA_OUTCOMES_PSEUDONYM_KEY is set)")
    p.add_argument("--events", metavar="FILE",
                   help="intercurrent events (patient_id, date or day, event, detail) of one "
                   "data file: adds the estimand, patient flow and sensitivity analyses")
    p.add_argument("--cutoff", metavar="DATE|DAY",
                   help="data cut-off (a date, or a study day): visits due after it are "
                   "not missing, and events after it are errors")
    p.add_argument("--sem", action="append", metavar="MEASURE=VALUE",
                   help="standard error of measurement of a measure for reliable change, "
                   "e.g. --sem HFMSE=1.2 (repeatable)")
    p.add_argument("--reference", action="append", metavar="NAME",
                   help="natural-history reference for observed minus expected change "
                   "(repeatable; default the shipped published ones that fit; 'none' for none)")
    p.add_argument("--no-patient-figures", action="store_true",
                   help="do not write one figure file per patient")
    p.add_argument("--jobs", type=int, default=0, metavar="N",
                   help="worker processes for per-patient figures and batches (default 0: "
                   "automatic, extra processes only where they pay; 1: no extra process)")
    p.add_argument("--figure-formats", default="png", metavar="LIST",
                   help="figure files besides PNG: comma-separated among png, svg, pdf "
                   "(default png only)")
    p.add_argument("--dpi", type=int, default=300, metavar="N",
                   help="resolution of the PNG figures (default 300)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing report folder (only one sma-outcomes wrote, "
                   "with no file added or changed since)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--title", metavar="TEXT", help="report title")
    _reading_options(p)


def _validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    path = Path(args.file)
    if not path.exists():
        print(f"sma-outcomes: error: file not found: {args.file}\n"
              "hint: check the path (relative to the current folder)", file=sys.stderr)
        return 2
    from .load import check_scores, read_scores

    options = reading_kwargs(args)
    # validate answers whether the file can support the analysis: visits need a time
    problems = check_scores(path, **options, require_time=True)
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


def _measures(values: list[str] | None) -> list[str] | None:
    """Measure codes from --measures, in any capitalisation or a known alias."""
    if not values:
        return None
    from .load.columns import measure_code

    names = [m.strip() for v in values for m in v.split(",") if m.strip()]
    return [measure_code(m) or m.upper() for m in names]


def _cutoff(text: str | None) -> float | str | None:
    """A study day (a number) or a date as the user typed it."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return text


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .report.batch import expand_inputs

    try:
        paths = expand_inputs(args.data)
    except FileNotFoundError as err:
        print(f"sma-outcomes: error: {err}\nhint: check the path (relative to the current "
              "folder)", file=sys.stderr)
        return 2
    schedule, doses = args.schedule, None
    if Path(args.schedule).suffix or Path(args.schedule).exists():
        if not Path(args.schedule).is_file():
            print(f"sma-outcomes: error: dose file not found: {args.schedule}\n"
                  "hint: --schedule takes a schedule name (e.g. nusinersen) or a dose file",
                  file=sys.stderr)
            return 2
        if args.doses:
            print("sma-outcomes: error: a dose file was given twice (--schedule FILE and "
                  "--doses)\nhint: name the schedule with --schedule and the file with --doses",
                  file=sys.stderr)
            return 2
        schedule, doses = "nusinersen", args.schedule
    elif args.doses:
        if not Path(args.doses).is_file():
            print(f"sma-outcomes: error: dose file not found: {args.doses}\n"
                  "hint: check the path (relative to the current folder)", file=sys.stderr)
            return 2
        doses = args.doses
    common = dict(
        formats=args.format.split(","), measures=_measures(args.measures),
        timepoint=args.timepoint, schedule=schedule, doses=doses, windows=args.windows,
        pseudonymize=args.pseudonymize, patient_figures=not args.no_patient_figures,
        jobs=args.jobs or None, force=args.force, progress=not args.quiet,
        figure_formats=args.figure_formats.split(","), dpi=args.dpi,
    )
    from .report.options import check_sem

    try:
        if args.sem:
            common["sem"] = check_sem(args.sem)
    except ValueError as err:
        print(f"sma-outcomes: error: {err}\nhint: run 'sma-outcomes report --help'",
              file=sys.stderr)
        return 2
    if args.reference:
        common["references"] = [r for r in args.reference if r.lower() != "none"]
    batch = len(paths) > 1 or any(Path(d).is_dir() for d in args.data)
    if batch and (args.events or args.cutoff):
        print("sma-outcomes: error: --events and --cutoff describe one data file\n"
              "hint: run one report per data file with its events", file=sys.stderr)
        return 2
    if args.events and not Path(args.events).is_file():
        print(f"sma-outcomes: error: events file not found: {args.events}\n"
              "hint: check the path (relative to the current folder)", file=sys.stderr)
        return 2
    if batch:
        from .report.batch import build_reports

        result = build_reports(args.data, args.out, read_options=reading_kwargs(args), **common)
        for r in result.status.itertuples(index=False):
            print(f"{r.input}: {r.status}" + (f": {r.detail}" if r.detail else ""))
        print(f"{result.n_ok} of {len(result.status)} report(s) written; index: {result.index}")
        return 0 if result.n_ok == len(result.status) else 1
    from .exceptions import DataError
    from .report.build import build_report

    try:
        path = build_report(paths[0], args.out, title=args.title, events=args.events,
                            cutoff=_cutoff(args.cutoff), **common,
                            **reading_kwargs(args))
    except DataError as err:
        if err.problems is None or not len(err.problems):
            raise  # main() prints it as one line
        print(format_problems(err.problems))
        n = int((err.problems["severity"] == "error").sum())
        first = str(err).splitlines()[0] if str(err) else ""
        print(f"sma-outcomes: data error: {first}\n{n} error(s): no report written.",
              file=sys.stderr)
        return 1
    print(f"report written: {path}")
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from .report.options import check_sem
    from .report.reproduce import reproduce_case_series

    try:
        sem = check_sem(args.sem) if args.sem else None
    except ValueError as err:
        print(f"sma-outcomes: error: {err}\nhint: run 'sma-outcomes reproduce --help'",
              file=sys.stderr)
        return 2
    refs = [r for r in args.reference if r.lower() != "none"] if args.reference else None
    path = reproduce_case_series(args.out, force=args.force, progress=True, sem=sem,
                                 references=refs)
    print(f"case-series report written: {path}")
    return 0


COMMANDS = {"validate": _validate, "report": _report, "reproduce": _reproduce}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sma-outcomes`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from .exceptions import DataError, MeasureError

    try:
        return COMMANDS[args.command](args)
    except OSError as err:
        code = _output_failure(err)
        if code is None:
            return _other_error(err, args)
        return code
    except MeasureError as err:  # --measures names a measure the data do not have
        print(f"sma-outcomes: error: {err}\nhint: run 'sma-outcomes {args.command} --help'",
              file=sys.stderr)
        return 2
    except DataError as err:
        first = str(err).splitlines()
        print(f"sma-outcomes: data error: {first[0]}", file=sys.stderr)
        for line in first[1:]:
            print(line, file=sys.stderr)
        return 1
    except ValueError as err:
        print(f"sma-outcomes: error: {err}\nhint: run 'sma-outcomes {args.command} --help'",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


#: Exit code when the output cannot be written (disk full, read-only, permission, long name).
EXIT_OUTPUT = 3


def _output_failure(err: OSError) -> int | None:
    """One line naming the path and the cause for a write failure; None for other errors."""
    from .report.safety import OutputError

    if not isinstance(err, OutputError):  # e.g. an input that cannot be read: exit 2
        return None
    print(f"sma-outcomes: error: {err}", file=sys.stderr)
    return EXIT_OUTPUT


def _other_error(err: OSError, args: argparse.Namespace) -> int:
    if isinstance(err, FileExistsError):
        text = str(err)
        if "cannot be a report folder" in text or "not replaced" in text:
            hint = "choose another --out"
        else:
            hint = "add --force to replace it, or choose another --out"
        print(f"sma-outcomes: error: {err}\nhint: {hint}", file=sys.stderr)
        return 2
    if isinstance(err, (FileNotFoundError, IsADirectoryError, NotADirectoryError)):
        print(f"sma-outcomes: error: {err}\nhint: check the path", file=sys.stderr)
        return 2
    print(f"sma-outcomes: error: {err}\nhint: check the path", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
