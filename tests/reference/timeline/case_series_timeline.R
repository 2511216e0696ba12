# Independent base-R derivation of the timeline of data/sample/case_series.csv
# (nusinersen 12 mg: days 0, 14, 28, 63, then every 4 calendar months after dose 4;
# the default windows of sma_outcomes.timeline.windows.default_windows, moved per
# patient by (calendar dose day - fixed 30.4375-day dose day) of the anchor dose
# (target, hi) and of the dose before it (lo); change from the last
# non-missing score on or before day 0).
# Run from the repository root:
#   Rscript tests/reference/timeline/case_series_timeline.R > tests/reference/timeline/case_series_timeline.csv
d <- read.csv("data/sample/case_series.csv", colClasses = "character")

add_months <- function(date, m) {           # calendar months, day clipped to month end
  lt <- as.POSIXlt(date)
  mo <- lt$mon + m
  y <- lt$year + 1900 + mo %/% 12
  mo <- mo %% 12
  first_next <- as.Date(sprintf("%d-%02d-01", y + (mo + 1) %/% 12, (mo + 1) %% 12 + 1))
  last <- as.integer(format(first_next - 1, "%d"))
  as.Date(sprintf("%d-%02d-%02d", y, mo + 1, pmin(lt$mday, last)))
}
half_up <- function(x) floor(x + 0.5)

month <- 30.4375
fixed <- c(0, 14, 28, 63, half_up(63 + (1:8) * 4 * month))    # planned days, fixed months
# windows: label, target, lo, hi, anchor (dose number)
tgt <- fixed[5:12]
win <- data.frame(
  label = c("Baseline", "Loading", paste("Month", half_up(tgt / month))),
  target = c(0, 63, tgt),
  lo = c(-Inf, 29, tgt - 60),
  hi = c(0, 63, c(tgt[-1] - 61, tgt[8] + 60)),
  anchor = c(1, 4, 5:12)
)

long <- do.call(rbind, lapply(c("HFMSE", "PP_PREF", "PP_NONPREF"), function(m)
  data.frame(patient_id = d$patient_id, visit = d$visit, first = as.Date(d$first_dose_date),
             date = as.Date(d$visit_date), measure = m,
             score = suppressWarnings(as.numeric(d[[m]])))))
long$day <- as.numeric(long$date - long$first)

out <- NULL
for (p in unique(long$patient_id)) {
  x <- long[long$patient_id == p, ]
  first <- x$first[1]
  d4 <- first + 63
  dose_days <- c(0, 14, 28, 63, as.numeric(add_months(d4, 4 * (1:8)) - first))
  shift <- dose_days - fixed
  x$doses_before <- sapply(x$day, function(t) sum(dose_days < t))   # assessed before that day's dose
  x$timepoint <- NA_character_
  for (i in seq_along(x$day)) {
    best <- Inf
    for (w in seq_len(nrow(win))) {
      s <- shift[win$anchor[w]]                                   # target, hi: anchor dose
      s_lo <- if (win$anchor[w] > 1) shift[win$anchor[w] - 1] else 0  # lo: the dose before
      lo <- win$lo[w] + s_lo; hi <- win$hi[w] + s; dist <- abs(x$day[i] - (win$target[w] + s))
      ok <- x$day[i] >= lo && x$day[i] <= hi && (win$hi[w] > 0 || x$doses_before[i] == 0)
      if (ok && dist < best) { best <- dist; x$timepoint[i] <- win$label[w] }
    }
  }
  for (m in unique(x$measure)) {
    k <- x$measure == m
    pre <- x[k & x$day <= 0 & !is.na(x$score), ]
    base <- pre$score[which.max(pre$day)]
    x$baseline[k] <- base
  }
  out <- rbind(out, x)
}
out$change <- out$score - out$baseline
out$pct_change <- ifelse(out$baseline == 0, NA, 100 * out$change / out$baseline)
out <- out[, c("patient_id", "visit", "measure", "day", "doses_before", "timepoint",
               "score", "baseline", "change", "pct_change")]
write.csv(out, stdout(), row.names = FALSE, na = "")
