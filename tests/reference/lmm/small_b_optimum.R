# Independent optimum of the REML criterion on small_b.csv (lme4's own deviance function).
#
# lme4's optimisers stop short on this small, badly scaled data set (see
# lmm_reference.txt). Here lme4's profiled REML deviance (devFunOnly = TRUE) is
# minimised over theta by nlminb (bounded: diagonal >= 0) and Nelder-Mead from
# a grid of starts, each polished by nlminb. The lowest value is the reference
# for test_small_badly_scaled_data_where_lme4_fails.
#
# Run from the repository root: Rscript tests/reference/lmm/small_b_optimum.R
# Output: small_b_optimum.txt (R 4.2, lme4 1.1-31).

suppressMessages(library(lme4))
dir <- "tests/reference/lmm"
d <- read.csv(file.path(dir, "small_b.csv"), colClasses = c(patient_id = "character"))
dev <- lmer(score ~ months + (months | patient_id), data = d, REML = TRUE, devFunOnly = TRUE)
lower <- c(0, -Inf, 0)
best <- list(objective = Inf)
starts <- expand.grid(a = 10^seq(-1, 3, by = 1), b = c(-100, 0, 100), c = 10^seq(-1, 3, by = 1))
for (i in seq_len(nrow(starts))) {
  s <- as.numeric(starts[i, ])
  nm <- optim(s, function(th) if (th[1] < 0 || th[3] < 0) Inf else dev(th),
              method = "Nelder-Mead", control = list(maxit = 20000, reltol = 1e-14))
  fit <- nlminb(nm$par, dev, lower = lower,
                control = list(eval.max = 5000, iter.max = 5000, rel.tol = 1e-15, x.tol = 1e-12))
  if (fit$objective < best$objective) best <- fit
}
cat(sprintf("starts: %d\n", nrow(starts)))
cat(sprintf("theta: %s\n", paste(sprintf("%.10g", best$par), collapse = " ")))
cat(sprintf("REML criterion: %.10f\n", best$objective))
