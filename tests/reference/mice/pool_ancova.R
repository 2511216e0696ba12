# Rubin's rules reference: mice::pool on the completed data sets written by fit_mi.
#
# completed_jr_bootstrap.csv: 10 completed data sets (column .imp) of the rbmi
# antidepressant data, imputed by
#   fit_mi(data, arm="THERAPY", covariates=["BASVAL"], y="CHANGE", visit="VISIT",
#          group="PATIENT", ice=ice (JR), references={"DRUG": "PLACEBO"},
#          formula="BASVAL*VISIT + THERAPY*VISIT", method="bootstrap",
#          n_imputations=10, seed=2026)
# At each visit: lm(CHANGE ~ THERAPY + BASVAL) per data set (DRUG the reference level,
# so THERAPYPLACEBO = PLACEBO - DRUG), pooled by mice::pool (Rubin's rules,
# Barnard-Rubin df with dfcom = the lm's residual df).
#
# Run from the repository root:
#   Rscript tests/reference/mice/pool_ancova.R > tests/reference/mice/pool_ancova.out
suppressPackageStartupMessages(library(mice))
cat(R.version.string, "\n")
cat("mice", as.character(packageVersion("mice")), "\n")
dat <- read.csv("tests/reference/mice/completed_jr_bootstrap.csv", check.names = FALSE)
dat$THERAPY <- factor(dat$THERAPY, levels = c("DRUG", "PLACEBO"))
out <- NULL
for (v in sort(unique(dat$VISIT))) {
    fits <- lapply(sort(unique(dat$.imp)), function(k) {
        lm(CHANGE ~ THERAPY + BASVAL, data = dat[dat$.imp == k & dat$VISIT == v, ])
    })
    pooled <- pool(as.mira(fits))
    s <- summary(pooled, conf.int = TRUE)
    s <- s[s$term == "THERAPYPLACEBO", ]
    p <- pooled$pooled[pooled$pooled$term == "THERAPYPLACEBO", ]
    out <- rbind(out, data.frame(
        visit = v, estimate = s$estimate, se = s$std.error, df = s$df,
        p_value = s$p.value, ci_low = s$`2.5 %`, ci_high = s$`97.5 %`,
        ubar = p$ubar, b = p$b, t = p$t, dfcom = p$dfcom, riv = p$riv, lambda = p$lambda
    ))
}
write.csv(out, "tests/reference/mice/pool_ancova.csv", row.names = FALSE)
print(format(out, digits = 15), row.names = FALSE)
