# Reference numbers for fit_lmm(random = "piecewise") from lme4 + lmerTest.
#
# Run from the repository root:
#   python tests/reference/lmm_piecewise/simulate.py        # (re)writes the three csv files
#   Rscript tests/reference/lmm_piecewise/piecewise_reference.R > tests/reference/lmm_piecewise/piecewise_reference.txt
# writes piecewise_reference.json. R 4.2, lme4 1.1-31, lmerTest 3.1-3; every fit
# uses bobyqa with rhoend 1e-10 so that the optimiser does not stop short.
#
# Model: y ~ t + (t - k)+ ... [+ covariates] + (1 + t + (t - k)+ ... | group), the
# hinge columns named as fit_lmm names them (<time>_after_<k>).
# Per patient: coef() (fixed effects + BLUPs), ranef(condVar = TRUE) standard
# errors (conditional on the fixed effects, as lme4), and the prediction-error
# standard errors of coef() from the inverse of Henderson's mixed-model equations
# (these include the uncertainty of the fixed effects and its covariance with the
# BLUPs); also for on_slope = slope + first slope change.

suppressMessages({
  library(lme4)
  library(lmerTest)
  library(jsonlite)
})

dir <- "tests/reference/lmm_piecewise"
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10, maxfun = 1e6))

hinge <- function(d, time, k) {
  d[[sprintf("%s_after_%s", time, format(k))]] <- pmax(d[[time]] - k, 0)
  d
}
sleep <- read.csv("tests/reference/lmm/sleepstudy.csv", colClasses = c(Subject = "character"))
sleep$t <- sleep$Days - 2  # days 0-1 adaptation, "treatment" from day 2
sleep <- hinge(sleep, "t", 0)
pre <- read.csv(file.path(dir, "sma_pre.csv"), colClasses = c(patient_id = "character", sma_type = "character"))
pre <- hinge(hinge(hinge(pre, "months", 0), "months", 2), "months", 6)
sing <- read.csv(file.path(dir, "sma_pre_singular.csv"), colClasses = c(patient_id = "character", sma_type = "character"))
sing <- hinge(sing, "months", 0)
# the bundled sample cohort (data/sample/cohort.csv, HFMSE), months = day / 30.4375:
# every patient's baseline (days -28 to 0); 23 patients also have 1-3 visits 3-12 months
# before the first dose
cohort <- read.csv(file.path(dir, "cohort_hfmse.csv"), colClasses = c(patient_id = "character"))
cohort <- hinge(cohort, "months", 0)

cases <- list(
  sleep_pw_reml = list(data = sleep, f = Reaction ~ t + t_after_0 + (t + t_after_0 | Subject), reml = TRUE, hinges = "t_after_0"),
  sleep_pw_ml = list(data = sleep, f = Reaction ~ t + t_after_0 + (t + t_after_0 | Subject), reml = FALSE, hinges = "t_after_0"),
  sma_pw_reml = list(data = pre, f = score ~ months + months_after_0 + sma_type + (months + months_after_0 | patient_id), reml = TRUE, hinges = "months_after_0"),
  sma_pw_ml = list(data = pre, f = score ~ months + months_after_0 + sma_type + (months + months_after_0 | patient_id), reml = FALSE, hinges = "months_after_0"),
  sma_pw_knot2_reml = list(data = pre, f = score ~ months + months_after_2 + (months + months_after_2 | patient_id), reml = TRUE, hinges = "months_after_2"),
  sma_pw_two_reml = list(data = pre, f = score ~ months + months_after_0 + months_after_6 + (months + months_after_0 + months_after_6 | patient_id), reml = TRUE, hinges = c("months_after_0", "months_after_6")),
  singular_pw_reml = list(data = sing, f = score ~ months + months_after_0 + (months + months_after_0 | patient_id), reml = TRUE, hinges = "months_after_0"),
  singular_pw_ml = list(data = sing, f = score ~ months + months_after_0 + (months + months_after_0 | patient_id), reml = FALSE, hinges = "months_after_0"),
  cohort_pw_reml = list(data = cohort, f = score ~ months + months_after_0 + (months + months_after_0 | patient_id), reml = TRUE, hinges = "months_after_0")
)

# prediction-error covariance of (beta, b) from Henderson's equations:
# C = sigma^2 [[L'Z'Z L + I, L'Z'X], [X'Z L, X'X]]^-1 for (u, beta), b = L u
pe_cov <- function(fit) {
  X <- getME(fit, "X")
  Zt <- getME(fit, "Zt")
  Lt <- getME(fit, "Lambdat")
  ZL <- as.matrix(t(Lt %*% Zt))
  qG <- ncol(ZL)
  M <- rbind(cbind(crossprod(ZL) + diag(qG), crossprod(ZL, X)), cbind(crossprod(X, ZL), crossprod(X)))
  C <- sigma(fit)^2 * solve(M)
  L <- as.matrix(t(Lt))
  p <- ncol(X)
  Tm <- rbind(cbind(L, matrix(0, qG, p)), cbind(matrix(0, p, qG), diag(p)))
  Tm %*% C %*% t(Tm)  # covariance of (b - b_hat, beta - beta_hat), b first
}

one_case <- function(cs) {
  warns <- character(0)
  fit <- withCallingHandlers(
    lmer(cs$f, data = cs$data, REML = cs$reml, control = ctrl),
    warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") },
    message = function(m) { warns <<- c(warns, conditionMessage(m)); invokeRestart("muffleMessage") }
  )
  co <- summary(fit)$coefficients
  vc <- VarCorr(fit)[[1]]
  q <- nrow(vc)
  re <- ranef(fit, condVar = TRUE)[[1]]
  pv <- attr(re, "postVar")  # q x q x G
  cf <- coef(fit)[[1]]
  groups <- rownames(cf)
  G <- length(groups)
  V <- pe_cov(fit)
  p <- length(fixef(fit))
  # coefficient j of group g: beta_j + b_gj (the random terms are the first q fixed effects)
  se_coef <- matrix(NA, G, q)
  se_on <- numeric(G)
  for (g in seq_len(G)) {
    bi <- (g - 1) * q + seq_len(q)
    bj <- G * q + seq_len(q)
    A <- cbind(diag(q), diag(q))  # b_g + beta_(1..q)
    S <- V[c(bi, bj), c(bi, bj)]
    Vg <- A %*% S %*% t(A)
    se_coef[g, ] <- sqrt(diag(Vg))
    w <- c(0, 1, 1, rep(0, q - 3))
    se_on[g] <- sqrt(drop(t(w) %*% Vg %*% w))
  }
  cond_se <- t(sapply(seq_len(G), function(g) sqrt(diag(as.matrix(pv[, , g])))))
  list(
    formula = paste(deparse(cs$f), collapse = " "),
    reml = cs$reml,
    nobs = nobs(fit),
    ngroups = unname(ngrps(fit)),
    terms = names(fixef(fit)),
    estimate = unname(co[, "Estimate"]),
    se = unname(co[, "Std. Error"]),
    df = unname(co[, "df"]),
    t = unname(co[, "t value"]),
    p_value = unname(co[, "Pr(>|t|)"]),
    theta = unname(getME(fit, "theta")),
    sigma = sigma(fit),
    re_cov = unname(as.matrix(vc[, ])),
    re_sd = unname(attr(vc, "stddev")),
    re_corr = unname(as.matrix(attr(vc, "correlation"))),
    reml_criterion = if (cs$reml) REMLcrit(fit) else NA,
    loglik = as.numeric(logLik(fit)),
    aic = AIC(fit),
    bic = BIC(fit),
    singular = isSingular(fit),
    warnings = warns,
    groups = groups,
    coef = unname(as.matrix(cf[, c("(Intercept)", all.vars(cs$f)[2], cs$hinges)])),
    ranef = unname(as.matrix(re)),
    ranef_se = unname(cond_se),
    coef_se = se_coef,
    on_slope = unname(cf[, all.vars(cs$f)[2]] + cf[, cs$hinges[1]]),
    on_slope_se = se_on
  )
}

out <- lapply(cases, one_case)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE),
           file.path(dir, "piecewise_reference.json"))
cat(R.version.string, "| lme4", as.character(packageVersion("lme4")),
    "| lmerTest", as.character(packageVersion("lmerTest")), "\n")
for (nm in names(out)) {
  o <- out[[nm]]
  cat(sprintf("%-18s %s\n", nm, o$formula))
  cat(sprintf("   crit %.8f  loglik %.8f  singular %s\n",
              ifelse(is.na(o$reml_criterion), -2 * o$loglik, o$reml_criterion), o$loglik, o$singular))
  cat("   estimate", sprintf("%.6f", o$estimate), "\n")
  cat("   df      ", sprintf("%.4f", o$df), "\n")
  cat("   theta   ", sprintf("%.6g", o$theta), "\n")
  if (length(o$warnings)) cat("   warnings:", paste(o$warnings, collapse = " | "), "\n")
}
