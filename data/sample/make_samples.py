"""Generate the bundled sample data in data/sample/ (deterministic, seeded).

Run from the repository root: ``python data/sample/make_samples.py``.

- ``case_series.csv``: five children with SMA type 2, a reconstruction that follows the
  design of Gu & Kong 2021 and is consistent with every published summary. NOT the
  patients' recorded values (only ranges were published).
- ``cohort.csv``: a synthetic cohort (seed below) of SMA types 2 and 3; some patients
  have visits before the first dose (their own stream, seed + 3).
- ``clinic_export.xlsx``: a messy clinic export (title row, item-level HFMSE,
  day-first text dates, NT codes, padded headers).
- ``events.csv``: intercurrent events of the cohort (every event type, a handful of
  treatment switches), made from ``cohort.csv`` (seed + 2).
"""

from __future__ import annotations

import calendar
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 20211124
MONTH_DAYS = 30.4375


def add_months(d: dt.date, months: int) -> dt.date:
    """Calendar-month arithmetic (day clipped to the month's length)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def nusinersen_dose_dates(first: dt.date, n_maintenance: int) -> list[dt.date]:
    """Label schedule: days 0, 14, 28, 63, then every 4 calendar months after dose 4."""
    loading = [first + dt.timedelta(days=d) for d in (0, 14, 28, 63)]
    return loading + [add_months(loading[3], 4 * k) for k in range(1, n_maintenance + 1)]


# --------------------------------------------------------------------------- case series
# Per-patient values: baseline, loading visit, months 6, 10, 14, 18 (HFMSE, PP pref, PP nonpref).
# Month-18 changes: HFMSE +8 (53%), +3 (13%), +10 (53%), +5 (17%), +6 (50%);
# PP preferred +9 (225%), +4 (80%), +6 (100%), +7 (100%), +5 (167%);
# PP non-preferred +5 (500%), +3 (60%), +7 (233%), +4 (67%), +4 (200%).
CASE_SERIES = {
    "GK01": dict(first="2019-03-04", drift=[0, 49, 0, 2, -1, 0],
                 HFMSE=[15, 16, 18, 20, 22, 23], PP_PREF=[4, 5, 8, 10, 12, 13],
                 PP_NONPREF=[1, 1, 3, 4, 5, 6]),
    "GK02": dict(first="2019-05-13", drift=[-7, 56, 1, 0, 0, 3],
                 HFMSE=[23, 23, 24, 25, 25, 26], PP_PREF=[5, 6, 6, 7, 8, 9],
                 PP_NONPREF=[5, 5, 6, 6, 7, 8]),
    "GK03": dict(first="2019-08-19", drift=[0, 42, 0, -2, 0, 0],
                 HFMSE=[19, 21, 23, 25, 27, 29], PP_PREF=[6, 7, 8, 10, 11, 12],
                 PP_NONPREF=[3, 4, 6, 7, 9, 10]),
    "GK04": dict(first="2019-10-07", drift=[-3, 52, 0, 0, 4, 0],
                 HFMSE=[30, 30, 32, 33, 34, 35], PP_PREF=[7, 8, 10, 11, 13, 14],
                 PP_NONPREF=[6, 6, 7, None, 9, 10]),
    "GK05": dict(first="2020-01-13", drift=[0, 59, 0, 0, -3, 1],
                 HFMSE=[12, 13, 14, 16, 17, 18], PP_PREF=[3, 4, 5, 6, 7, 8],
                 PP_NONPREF=[2, 2, 3, 4, 5, 6]),
}
CASE_VISITS = ["Baseline", "Between dose 3 and 4", "Pre-maintenance 1", "Pre-maintenance 2",
               "Pre-maintenance 3", "Pre-maintenance 4"]


def make_case_series() -> pd.DataFrame:
    rows = []
    for pid, p in CASE_SERIES.items():
        first = dt.date.fromisoformat(p["first"])
        doses = nusinersen_dose_dates(first, 4)
        visit_dates = [first, first, doses[4], doses[5], doses[6], doses[7]]
        for i, visit in enumerate(CASE_VISITS):
            date = visit_dates[i] + dt.timedelta(days=p["drift"][i])
            row = {"patient_id": pid, "sma_type": 2, "first_dose_date": first.isoformat(),
                   "visit": visit, "visit_date": date.isoformat()}
            for m in ("HFMSE", "PP_PREF", "PP_NONPREF"):
                v = p[m][i]
                row[m] = "NT" if v is None else v
            rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- cohort
def make_cohort(n_patients: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    rng_pre = np.random.default_rng(SEED + 3)  # pre-treatment visits only
    start = dt.date(2018, 1, 8)
    maintenance_days = [(nusinersen_dose_dates(start, 6)[4 + k] - start).days for k in range(6)]
    targets = [("Baseline", -7), ("Loading", 45)] + [
        (f"Month {round(d / MONTH_DAYS)}", d) for d in maintenance_days
    ]
    rows = []
    for i in range(1, n_patients + 1):
        pid = f"C{i:03d}"
        sma_type = 2 if rng.random() < 0.6 else 3
        sex = "F" if rng.random() < 0.5 else "M"
        smn2 = int(rng.choice([2, 3, 4], p=[0.1, 0.6, 0.3]) if sma_type == 2
                   else rng.choice([3, 4], p=[0.5, 0.5]))
        age = float(np.round(rng.uniform(2.0, 12.0) if sma_type == 2 else rng.uniform(4.0, 17.0), 1))
        hand = "right" if rng.random() < 0.85 else "left"
        site = rng.choice(["North", "South", "West"])
        base = {
            "HFMSE": (rng.normal(18, 9) if sma_type == 2 else rng.normal(42, 10)),
            "RULM": (rng.normal(19, 6) if sma_type == 2 else rng.normal(31, 4)),
            "PP_PREF": rng.normal(6, 2.5) if sma_type == 2 else rng.normal(10, 2.5),
            "PP_NONPREF": rng.normal(4, 2) if sma_type == 2 else rng.normal(8, 2.5),
        }
        slope = {
            "HFMSE": rng.normal(0.22 if sma_type == 2 else 0.08, 0.1),
            "RULM": rng.normal(0.12 if sma_type == 2 else 0.05, 0.06),
            "PP_PREF": rng.normal(0.10, 0.05),
            "PP_NONPREF": rng.normal(0.08, 0.05),
        }
        resid = {"HFMSE": 1.5, "RULM": 1.2, "PP_PREF": 1.0, "PP_NONPREF": 1.0}
        limits = {"HFMSE": 66, "RULM": 37, "PP_PREF": 25, "PP_NONPREF": 25}
        n_visits = len(targets) if rng.random() > 0.2 else int(rng.integers(3, len(targets)))
        first_row = len(rows)
        for label, target in targets[:n_visits]:
            if label not in ("Baseline",) and rng.random() < 0.07:
                continue  # missed visit
            jitter = -rng.integers(0, 29) if label == "Baseline" else rng.integers(-14, 15)
            day = int(target + 7 + jitter) if label == "Baseline" else int(target + jitter)
            for m in ("HFMSE", "RULM", "PP_PREF", "PP_NONPREF"):
                months = max(day, 0) / MONTH_DAYS
                value = base[m] + slope[m] * months + rng.normal(0, resid[m])
                value = int(np.clip(np.round(value), 0, limits[m]))
                code = ""
                if m.startswith("PP") and rng.random() < 0.03:
                    value, code = None, "UTA"
                rows.append({"patient_id": pid, "sma_type": sma_type, "sex": sex,
                             "age_at_first_dose": age, "smn2_copies": smn2,
                             "handedness": hand, "site": site, "visit": label, "day": day,
                             "measure": m, "score": code if value is None else value})
        # pre-treatment visits come from their own generator (rng_pre), so the rows above
        # are the same with or without them; inserted before the patient's baseline
        rows[first_row:first_row] = pre_treatment_visits(rows[first_row:], base, resid, limits,
                                                         rng_pre)
    return pd.DataFrame(rows)


#: Untreated decline per year drawn for the pre-treatment visits (uniform between the two).
#: HFMSE: about half a point to a point a year, as in natural-history cohorts of types 2
#: and 3 (Mercuri 2016); the other measures decline a little less.
PRE_SLOPE_PER_YEAR = {"HFMSE": (-1.0, -0.5), "RULM": (-0.6, -0.2),
                      "PP_PREF": (-0.4, 0.0), "PP_NONPREF": (-0.4, 0.0)}
PRE_SHARE = 0.3  # share of patients with pre-treatment visits


def pre_treatment_visits(patient_rows: list[dict], base: dict[str, float],
                         resid: dict[str, float], limits: dict[str, int],
                         rng: np.random.Generator) -> list[dict]:
    """Assessments 3-12 months before the first dose for some patients (untreated decline).

    About ``PRE_SHARE`` of the patients get 1-3 visits ``Pre-treatment 1`` .. ``3``
    (earliest first), one in each equal slot of days -365 .. -91, on every measure; the
    score falls from the patient's latent value at the first dose ``base`` by a slope drawn
    from ``PRE_SLOPE_PER_YEAR`` plus the measure's residual noise. A patient whose
    baseline has an unassessable score gets none, so that no patient gains a baseline
    (the last score on or before day 0 stays the ``Baseline`` visit's). The draws are the
    same for every patient (selection, then visits), so the result does not depend on
    which patients are selected before.
    """
    selected = rng.random() < PRE_SHARE
    n = int(rng.integers(1, 4))
    slots = np.linspace(-365, -91, n + 1)
    days = [int(rng.integers(round(lo), round(hi))) for lo, hi in zip(slots[:-1], slots[1:],
                                                                       strict=True)]
    slope = {m: rng.uniform(*PRE_SLOPE_PER_YEAR[m]) / 12 for m in PRE_SLOPE_PER_YEAR}
    noise = rng.normal(0, 1, size=(n, len(PRE_SLOPE_PER_YEAR)))
    baseline = [r for r in patient_rows if r["visit"] == "Baseline"]
    if not selected or any(r["score"] == "UTA" for r in baseline):
        return []
    fixed = {k: v for k, v in baseline[0].items() if k not in ("visit", "day", "measure", "score")}
    out = []
    for j, day in enumerate(days):
        for k, m in enumerate(PRE_SLOPE_PER_YEAR):
            value = base[m] + slope[m] * day / MONTH_DAYS + resid[m] * noise[j, k]
            value = int(np.clip(np.round(value), 0, limits[m]))
            out.append({**fixed, "visit": f"Pre-treatment {j + 1}", "day": day, "measure": m,
                        "score": value})
    return out


# --------------------------------------------------------------------------- clinic export
def make_clinic_export(path: Path) -> None:
    from openpyxl import Workbook

    rng = np.random.default_rng(SEED + 1)
    wb = Workbook()
    ws = wb.active
    ws.title = "HFMSE export"
    ws.append(["Neuromuscular clinic - HFMSE item export (generated sample)"])
    header = [" Patient ID ", "Visit", "Visit date", "First dose"] + [
        f"HFMSE item {i}" for i in range(1, 34)] + ["HFMSE total"]
    ws.append(header)
    patients = {"MC-101": dt.datetime(2020, 2, 3), "MC-102": dt.datetime(2020, 6, 15),
                "MC-103": dt.datetime(2021, 1, 11)}
    for pid, first in patients.items():
        ability = rng.uniform(0.3, 0.9)
        for k, (visit, offset) in enumerate([("Baseline", 0), ("M6", 185), ("M10", 306)]):
            date = first + dt.timedelta(days=offset)
            items = [int(rng.random() < ability + 0.04 * k) + int(rng.random() < ability - 0.3)
                     for _ in range(33)]
            cells: list[object] = list(items)
            total: object = sum(items)
            if pid == "MC-102" and visit == "M10":
                cells[19] = "NT"  # item 20 not tested: no total can be computed
                total = "NT"
            ws.append([f"{pid} ", visit, date.strftime("%d/%m/%Y"), first] + cells + [total])
    ws.append([])
    ws.append([])
    wb.properties.creator = "sma_outcomes sample generator"
    wb.properties.created = dt.datetime(2021, 1, 1)
    wb.properties.modified = dt.datetime(2021, 1, 1)
    wb.save(path)


def make_events(cohort: pd.DataFrame) -> pd.DataFrame:
    """Intercurrent events of the synthetic cohort: every event type, five switches.

    Events fall within each patient's follow-up (on or before the last assessment,
    except death and discontinuation, which end it): patients whose follow-up stops
    early get a death or a discontinuation shortly after their last visit.
    """
    rng = np.random.default_rng(SEED + 2)
    info = cohort.groupby("patient_id", sort=True).agg(
        last=("day", "max"), sma_type=("sma_type", "first"))
    pids = list(info.index)
    early = [p for p in pids if info.loc[p, "last"] < 600]
    full = [p for p in pids if info.loc[p, "last"] >= 600]
    order = list(rng.permutation(full))
    rows = []

    def take(n: int) -> list[str]:
        return [order.pop(0) for _ in range(n)]

    def day_in(p: str, lo: float, hi: float) -> int:
        return int(rng.integers(int(lo), int(min(hi, info.loc[p, "last"] - 10))))

    # early stops: deaths and discontinuations 20-60 days after the last visit
    for i, p in enumerate(early):
        event = "death" if i % 3 == 0 else "discontinuation"
        detail = "" if event == "death" else ("lumbar puncture no longer feasible" if i % 2
                                               else "family decision")
        rows.append((p, int(info.loc[p, "last"]) + int(rng.integers(20, 61)), event, detail))
    for p, drug in zip(take(5), ["risdiplam", "risdiplam", "Evrysdi", "risdiplam",
                                 "onasemnogene abeparvovec"], strict=True):
        rows.append((p, day_in(p, 300, 560), "treatment switch", drug))
    for p in take(2):
        rows.append((p, day_in(p, 200, 500), "add-on", "risdiplam"))
    for p in take(2):
        rows.append((p, day_in(p, 300, 600), "regimen change", "nusinersen high dose"))
    type2 = [p for p in order if info.loc[p, "sma_type"] == 2]
    type3 = [p for p in order if info.loc[p, "sma_type"] == 3]
    for p in type2[:3]:
        rows.append((p, day_in(p, 150, 600), "scoliosis surgery", "growing rods"))
    for p in type2[3:5]:
        rows.append((p, day_in(p, 200, 650), "spinal fusion", "posterior spinal fusion"))
    for p in type2[5:7]:
        rows.append((p, day_in(p, 100, 650), "ventilation start", "night-time NIV"))
    for p in type2[7:9]:
        rows.append((p, day_in(p, 100, 650), "feeding tube", "gastrostomy"))
    for p in type3[:2]:
        rows.append((p, day_in(p, 200, 650), "loss of ambulation", ""))
    rows.append((type3[2], day_in(type3[2], 100, 600), "other", "femur fracture"))
    out = pd.DataFrame(rows, columns=["patient_id", "day", "event", "detail"])
    return out.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)


if __name__ == "__main__":
    make_case_series().to_csv(HERE / "case_series.csv", index=False)
    make_cohort().to_csv(HERE / "cohort.csv", index=False)
    make_clinic_export(HERE / "clinic_export.xlsx")
    make_events(pd.read_csv(HERE / "cohort.csv")).to_csv(HERE / "events.csv", index=False)
    print("wrote case_series.csv, cohort.csv, clinic_export.xlsx, events.csv to", HERE)
