# Reference numbers for sma_outcomes.stats.fit_lmm from lme4 + lmerTest.
#
# Run from the repository root:
#   python tests/reference/lmm/simulate_cohorts.py     # (re)writes the sma_*.csv files
#   Rscript tests/reference/lmm/lmm_reference.R        # writes lmm_reference.json
#
# Produced with R 4.2, lme4 1.1-31, lmerTest 3.1-3. Every fit uses
# lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10)) so that the
# optimiser does not stop short. Satterthwaite df are lmerTest's.

suppressMessages({
  library(lme4)
  library(lmerTest)
  library(jsonlite)
})

dir <- "tests/reference/lmm"
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10))

read_sma <- function(name) {
  read.csv(file.path(dir, name), colClasses = c(patient_id = "character", sma_type = "character"))
}
sleep <- read.csv(file.path(dir, "sleepstudy.csv"), colClasses = c(Subject = "character"))
cohort <- read_sma("sma_cohort.csv")
dropout <- read_sma("sma_dropout.csv")
singular <- read_sma("sma_singular.csv")
# small, badly scaled random data sets (8 patients) on which optimisers go astray;
# made by a random sweep (numpy default_rng seeds 42 and 35), see test_lmm.py
small_a <- read.csv(file.path(dir, "small_a.csv"), colClasses = c(patient_id = "character"))
small_b <- read.csv(file.path(dir, "small_b.csv"), colClasses = c(patient_id = "character"))

cases <- list(
  sleep_slope_reml = list(data = sleep, f = Reaction ~ Days + (Days | Subject), reml = TRUE),
  sleep_slope_ml = list(data = sleep, f = Reaction ~ Days + (Days | Subject), reml = FALSE),
  sleep_intercept_reml = list(data = sleep, f = Reaction ~ Days + (1 | Subject), reml = TRUE),
  sleep_intercept_ml = list(data = sleep, f = Reaction ~ Days + (1 | Subject), reml = FALSE),
  cohort_slope_reml = list(data = cohort, f = score ~ months + (months | patient_id), reml = TRUE),
  cohort_slope_ml = list(data = cohort, f = score ~ months + (months | patient_id), reml = FALSE),
  cohort_type_reml = list(data = cohort, f = score ~ months + sma_type + (months | patient_id), reml = TRUE),
  cohort_type_ml = list(data = cohort, f = score ~ months + sma_type + (months | patient_id), reml = FALSE),
  cohort_age_reml = list(data = cohort, f = score ~ months + age + (months | patient_id), reml = TRUE),
  cohort_intercept_reml = list(data = cohort, f = score ~ months + sma_type + (1 | patient_id), reml = TRUE),
  cohort_days_reml = list(data = cohort, f = score ~ day + (day | patient_id), reml = TRUE),
  cohort_knots_reml = list(data = cohort, f = score ~ months + pmax(months - 2, 0) + pmax(months - 12, 0) + (months | patient_id), reml = TRUE),
  cohort_knots_ml = list(data = cohort, f = score ~ months + pmax(months - 2, 0) + pmax(months - 12, 0) + (months | patient_id), reml = FALSE),
  dropout_type_reml = list(data = dropout, f = score ~ months + sma_type + (months | patient_id), reml = TRUE),
  dropout_type_ml = list(data = dropout, f = score ~ months + sma_type + (months | patient_id), reml = FALSE),
  dropout_full_reml = list(data = dropout, f = score ~ months + pmax(months - 2, 0) + sma_type + age + (months | patient_id), reml = TRUE),
  dropout_intercept_ml = list(data = dropout, f = score ~ months + pmax(months - 2, 0) + sma_type + (1 | patient_id), reml = FALSE),
  singular_type_reml = list(data = singular, f = score ~ months + sma_type + (months | patient_id), reml = TRUE),
  small_a_ml = list(data = small_a, f = score ~ months + (months | patient_id), reml = FALSE),
  small_b_reml = list(data = small_b, f = score ~ months + (months | patient_id), reml = TRUE),
  singular_type_ml = list(data = singular, f = score ~ months + sma_type + (months | patient_id), reml = FALSE)
)

one_case <- function(cs) {
  warns <- character(0)
  fit <- withCallingHandlers(
    lmer(cs$f, data = cs$data, REML = cs$reml, control = ctrl),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    },
    message = function(m) {
      warns <<- c(warns, conditionMessage(m))
      invokeRestart("muffleMessage")
    }
  )
  co <- summary(fit)$coefficients
  vc <- as.data.frame(VarCorr(fit))
  re <- ranef(fit)[[1]]
  # population predictions at some times (first level / covariates at 0), lmerTest contest
  p <- length(fixef(fit))
  times <- c(0, 6, 12, 24)
  L <- matrix(0, length(times), p)
  L[, 1] <- 1
  L[, 2] <- times
  nm <- names(fixef(fit))
  for (j in grep("pmax\\(months - 2", nm, fixed = FALSE)) L[, j] <- pmax(times - 2, 0)
  for (j in grep("pmax\\(months - 12", nm, fixed = FALSE)) L[, j] <- pmax(times - 12, 0)
  if (grepl("Days", deparse(cs$f)[1])) L[, 2] <- times / 2
  if (grepl("~ day", deparse(cs$f)[1])) L[, 2] <- times * 30.4375
  pred <- contest(fit, L, joint = FALSE)
  list(
    formula = paste(deparse(cs$f), collapse = " "),
    reml = cs$reml,
    nobs = nobs(fit),
    ngroups = unname(ngrps(fit)),
    terms = nm,
    estimate = unname(co[, "Estimate"]),
    se = unname(co[, "Std. Error"]),
    df = unname(co[, "df"]),
    t = unname(co[, "t value"]),
    p_value = unname(co[, "Pr(>|t|)"]),
    theta = unname(getME(fit, "theta")),
    sigma = sigma(fit),
    vc_var = vc$vcov,
    vc_sd = vc$sdcor,
    vc_names = paste(vc$var1, vc$var2, sep = ":"),
    reml_criterion = if (cs$reml) REMLcrit(fit) else NA,
    loglik = as.numeric(logLik(fit)),
    aic = AIC(fit),
    bic = BIC(fit),
    singular = isSingular(fit),
    warnings = warns,
    ranef_groups = rownames(re)[1:5],
    ranef = unname(as.matrix(re[1:5, , drop = FALSE])),
    pred_L = L,
    pred_estimate = pred$Estimate,
    pred_se = pred$`Std. Error`,
    pred_df = pred$df
  )
}

out <- lapply(cases, one_case)
# small_b with lme4's default optimiser (nloptwrap) as well
out$small_b_reml_default <- local({
  fit <- suppressWarnings(lmer(score ~ months + (months | patient_id), data = small_b, REML = TRUE))
  list(reml_criterion = REMLcrit(fit), estimate = unname(fixef(fit)))
})
json <- toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE)
writeLines(json, file.path(dir, "lmm_reference.json"))
for (nm in setdiff(names(out), "small_b_reml_default")) {
  o <- out[[nm]]
  cat(sprintf("%-22s crit %.8f  loglik %.8f  singular %s  df %s\n", nm,
              ifelse(is.na(o$reml_criterion), -2 * o$loglik, o$reml_criterion), o$loglik,
              o$singular, paste(sprintf("%.4f", o$df), collapse = " ")))
  if (length(o$warnings)) cat("   warnings:", paste(o$warnings, collapse = " | "), "\n")
}
