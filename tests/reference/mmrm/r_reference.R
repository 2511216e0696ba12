# Reference numbers for tests/test_mmrm_r.py: nlme::gls (corSymm + varIdent, REML and ML)
# and emmeans on simulated SMA-like change scores with monotone dropout and
# intermittent missing visits; an exact Satterthwaite df (numDeriv Richardson Hessian
# of the REML log-likelihood coded below). Run from the repository root:
#   Rscript tests/reference/mmrm/r_reference.R
# Writes tests/reference/mmrm/sim_data.csv and tests/reference/mmrm/r_reference.json.
suppressPackageStartupMessages({
  library(nlme); library(emmeans); library(numDeriv); library(jsonlite)
})
out_dir <- "tests/reference/mmrm"
set.seed(20261124)
n <- 160
visits <- c("Month 6", "Month 10", "Month 14", "Month 18", "Month 24")
K <- length(visits)
sd <- c(3.0, 3.6, 4.1, 4.8, 5.5)
R <- outer(1:K, 1:K, function(i, j) 0.75^abs(i - j) + 0.05 * (i != j))
diag(R) <- 1
Sigma <- diag(sd) %*% R %*% diag(sd)
pat <- data.frame(
  patient_id = sprintf("P%03d", 1:n),
  arm = sample(c("Placebo", "Active"), n, replace = TRUE),
  sma_type = sample(c("2", "3"), n, replace = TRUE, prob = c(0.4, 0.6)),
  baseline = round(runif(n, 10, 55))
)
L <- chol(Sigma)
rows <- list()
for (i in 1:n) {
  e <- as.vector(rnorm(K) %*% L)
  mu <- 0.4 * (1:K) + (pat$arm[i] == "Active") * 0.6 * (1:K) +
    (pat$sma_type[i] == "3") * 1.5 - 0.05 * (pat$baseline[i] - 30) -
    0.02 * (pat$baseline[i] - 30) * (1:K)
  y <- round(mu + e, 3)
  last <- K
  u <- runif(1)
  if (u < 0.35) last <- sample(1:(K - 1), 1)        # monotone dropout
  keep <- seq_len(K) <= last
  if (runif(1) < 0.2) keep[sample(1:K, 1)] <- FALSE   # an intermittent missed visit
  y[!keep] <- NA
  rows[[i]] <- data.frame(patient_id = pat$patient_id[i], timepoint = visits,
                          vnum = 1:K, change = y)
}
d <- merge(do.call(rbind, rows), pat, by = "patient_id")
d <- d[order(d$patient_id, d$vnum), ]
write.csv(d, file.path(out_dir, "sim_data.csv"), row.names = FALSE, na = "")

d$timepoint <- factor(d$timepoint, levels = visits)
d$arm <- factor(d$arm, levels = c("Placebo", "Active"))
d$sma_type <- factor(d$sma_type, levels = c("2", "3"))
dd <- d[!is.na(d$change), ]
form <- change ~ timepoint + baseline + sma_type + arm + arm:timepoint + baseline:timepoint

fit_gls <- function(method) {
  gls(form, data = dd, method = method,
      correlation = corSymm(form = ~ vnum | patient_id),
      weights = varIdent(form = ~ 1 | timepoint),
      control = glsControl(natural = FALSE, opt = "optim", tolerance = 1e-12,
                           msTol = 1e-14, maxIter = 500, msMaxIter = 500))
}
fit <- fit_gls("REML")
fit_ml <- fit_gls("ML")

sigma_of <- function(f) {
  cs <- f$modelStruct$corStruct
  full <- names(which.max(table(dd$patient_id)))  # a patient with all visits
  Rm <- corMatrix(cs)[[full]]
  w <- coef(f$modelStruct$varStruct, unconstrained = FALSE, allCoef = TRUE)
  s <- f$sigma * w[visits]
  diag(s) %*% Rm %*% diag(s)
}
S_hat <- sigma_of(fit)

X <- model.matrix(form, dd)
y <- dd$change
ids <- split(seq_len(nrow(dd)), dd$patient_id)
vis_idx <- dd$vnum
p <- ncol(X)

# -2 REML log-likelihood in SAS's convention (no +log|X'X| term) for a covariance matrix
parts <- function(S) {
  XtVX <- matrix(0, p, p); XtVy <- rep(0, p); logdet <- 0
  for (ix in ids) {
    v <- vis_idx[ix]; Si <- solve(S[v, v, drop = FALSE])
    Xi <- X[ix, , drop = FALSE]
    XtVX <- XtVX + t(Xi) %*% Si %*% Xi
    XtVy <- XtVy + t(Xi) %*% Si %*% y[ix]
    logdet <- logdet + as.numeric(determinant(S[v, v, drop = FALSE])$modulus)
  }
  beta <- solve(XtVX, XtVy)
  quad <- 0
  for (ix in ids) {
    v <- vis_idx[ix]; r <- y[ix] - X[ix, , drop = FALSE] %*% beta
    quad <- quad + as.numeric(t(r) %*% solve(S[v, v, drop = FALSE], r))
  }
  list(XtVX = XtVX, beta = beta, logdet = logdet, quad = quad)
}
m2reml_S <- function(S) {
  P <- parts(S)
  (nrow(X) - p) * log(2 * pi) + P$logdet +
    as.numeric(determinant(P$XtVX)$modulus) + P$quad
}
lt <- lower.tri(S_hat, diag = TRUE)
S_from <- function(phi) { S <- matrix(0, K, K); S[lt] <- phi; S <- S + t(S); diag(S) <- diag(S) / 2; S }
phi_hat <- S_hat[lt]
# numDeriv's default first step (d = 0.1, i.e. 10% of each covariance) leaves the
# positive-definite region here; d = 1e-3 with Richardson extrapolation is accurate
H <- numDeriv::hessian(function(ph) m2reml_S(S_from(ph)), phi_hat,
                       method.args = list(d = 1e-3, r = 4))
W <- 2 * solve(H)
C_of <- function(phi) solve(parts(S_from(phi))$XtVX)

emm <- emmeans(fit, ~ arm | timepoint, mode = "df.error")
ls <- as.data.frame(summary(emm))
ct <- contrast(emm, method = "revpairwise")
cts <- as.data.frame(summary(ct))
Lls <- emm@linfct
Lct <- ct@linfct
sat_df <- function(Lm) {
  apply(Lm, 1, function(l) {
    f <- as.numeric(t(l) %*% C_of(phi_hat) %*% l)
    g <- numDeriv::grad(function(ph) as.numeric(t(l) %*% C_of(ph) %*% l), phi_hat,
                        method.args = list(d = 1e-3, r = 4))
    2 * f^2 / as.numeric(t(g) %*% W %*% g)
  })
}
ls$exact_df <- sat_df(Lls)
cts$exact_df <- sat_df(Lct)

# LS means over visits only (arm averaged), as a check of the equal-weight grid
emm_v <- as.data.frame(summary(emmeans(fit, ~ timepoint, mode = "df.error")))

cb <- summary(fit)$tTable
fitted_se <- sqrt(rowSums((X %*% vcov(fit)) * X))
res <- list(
  call = "gls(change ~ timepoint + baseline + sma_type + arm + arm:timepoint + baseline:timepoint, correlation = corSymm(form = ~ vnum | patient_id), weights = varIdent(form = ~ 1 | timepoint), method = 'REML', control = glsControl(natural = FALSE, opt = 'optim'))",
  n_obs = nrow(dd), n_patients = length(ids),
  nlme_reml_loglik = as.numeric(logLik(fit)),
  nlme_ml_loglik = as.numeric(logLik(fit_ml)),
  half_logdet_XtX = 0.5 * as.numeric(determinant(crossprod(X))$modulus),
  minus2_reml_sas_convention = m2reml_S(S_hat),
  sigma = S_hat, sigma_ml = sigma_of(fit_ml),
  coef = data.frame(term = rownames(cb), estimate = cb[, 1], se = cb[, 2]),
  fitted = data.frame(patient_id = dd$patient_id, timepoint = as.character(dd$timepoint),
                      fitted = as.vector(X %*% coef(fit)), se = fitted_se),
  lsmeans = data.frame(timepoint = as.character(ls$timepoint), arm = as.character(ls$arm),
                       estimate = ls$emmean, se = ls$SE, exact_df = ls$exact_df),
  differences = data.frame(timepoint = as.character(cts$timepoint), contrast = cts$contrast,
                           estimate = cts$estimate, se = cts$SE, exact_df = cts$exact_df),
  lsmeans_visit = data.frame(timepoint = as.character(emm_v$timepoint),
                             estimate = emm_v$emmean, se = emm_v$SE),
  ml_coef = data.frame(term = names(coef(fit_ml)), estimate = as.vector(coef(fit_ml)))
)
writeLines(toJSON(res, digits = NA, pretty = TRUE, matrix = "rowmajor"),
           file.path(out_dir, "r_reference.json"))
cat("done\n")
