# Reference for sma_outcomes.plot.cohort_summary: mean and 95% t CI of the
# score per measure x timepoint (x sma_type), from t.test in base R.
# Run from the repository root:
#   Rscript tests/reference/plots/cohort_summary.R > tests/reference/plots/cohort_summary_R.csv
options(digits = 15)
d <- read.csv("tests/reference/plots/cohort_small.csv", stringsAsFactors = FALSE)
d <- d[!is.na(d$score), ]
out <- list()
for (hue in c(FALSE, TRUE)) {
  keys <- if (hue) unique(d[, c("measure", "timepoint", "sma_type")]) else unique(d[, c("measure", "timepoint")])
  for (i in seq_len(nrow(keys))) {
    sel <- d$measure == keys$measure[i] & d$timepoint == keys$timepoint[i]
    if (hue) sel <- sel & d$sma_type == keys$sma_type[i]
    v <- d$score[sel]
    tt <- t.test(v, conf.level = 0.95)
    out[[length(out) + 1]] <- data.frame(
      measure = keys$measure[i], timepoint = keys$timepoint[i],
      sma_type = if (hue) as.character(keys$sma_type[i]) else "",
      n = length(v), mean = mean(v), sd = sd(v),
      ci_low = tt$conf.int[1], ci_high = tt$conf.int[2])
  }
}
res <- do.call(rbind, out)
write.csv(res, stdout(), row.names = FALSE, quote = TRUE)
