# Reference numbers for tests/test_paired.py and tests/test_responders.py.
# Run from the repository root:
#   Rscript tests/reference/paired/paired_reference.R > tests/reference/paired/paired_reference.json
# R 4.2, base stats only (wilcox.test, t.test, binom.test) plus jsonlite for output.
suppressPackageStartupMessages(library(jsonlite))

cases <- list(
  n5         = c(1.5, 3.2, -0.7, 4.1, 2.6),
  n5_allpos  = c(2, 5, 1, 7, 3),
  n5_neg     = c(-4.5, -1.25, 0.5, -2.75, -3.5),
  n6         = c(0.4, -1.3, 2.2, 3.7, 1.1, 5.9),
  n12        = c(2.31, -0.84, 4.12, 1.07, 3.55, -1.62, 0.48, 2.96, 5.21, 1.83, -0.27, 3.08),
  n12_ties   = c(3, -1, 2, 4, 2, 1, -2, 5, 3, 1, 2, 6),
  n12_zeros  = c(3, -1, 2, 0, 4, 2, 1, -2, 5, 0, 3, 1),
  n20        = round(seq(-3.1, 7.4, length.out = 20) + sin(1:20), 6),
  n49        = round(cos(1:49) * 5 + 1.3 + (1:49) / 97, 6),
  n60        = round(cos(1:60) * 5 + 1.1 + (1:60) / 101, 6),
  n60_ties   = rep(c(-2, -1, 0, 1, 2, 3, 4, 1, 2, 3), 6)
)
levels <- c(n5 = 0.95, n5_allpos = 0.95, n5_neg = 0.9, n6 = 0.95, n12 = 0.95,
            n12_ties = 0.95, n12_zeros = 0.95, n20 = 0.9, n49 = 0.95, n60 = 0.95,
            n60_ties = 0.95)

out <- list()
for (nm in names(cases)) {
  d <- cases[[nm]]
  lev <- levels[[nm]]
  zeros <- any(d == 0)
  ties <- length(unique(abs(d[d != 0]))) < sum(d != 0)
  nn <- sum(d != 0)
  r_exact <- (nn < 50) && !zeros && !ties
  w <- suppressWarnings(wilcox.test(d, mu = 0, paired = FALSE, exact = if (nn < 50) TRUE else NULL,
                                    conf.int = TRUE, conf.level = lev))
  # paired = TRUE on (d, 0) is the one-sample test of the differences; check it matches
  w2 <- suppressWarnings(wilcox.test(d, rep(0, length(d)), paired = TRUE,
                                     exact = if (nn < 50) TRUE else NULL,
                                     conf.int = TRUE, conf.level = lev))
  stopifnot(isTRUE(all.equal(w$p.value, w2$p.value)), isTRUE(all.equal(w$estimate, w2$estimate)))
  tt <- t.test(d, rep(0, length(d)), paired = TRUE, conf.level = lev)
  bt <- binom.test(sum(d > 0), sum(d != 0))
  out[[nm]] <- list(
    d = d, level = lev, r_exact = r_exact, zeros = zeros, ties = ties,
    wilcox_V = unname(w$statistic), wilcox_p = w$p.value,
    hl_estimate = unname(w$estimate), hl_ci = as.numeric(w$conf.int),
    hl_conf_level_reported = attr(w$conf.int, "conf.level"),
    t_estimate = unname(tt$estimate), t_statistic = unname(tt$statistic),
    t_df = unname(tt$parameter), t_p = tt$p.value, t_ci = as.numeric(tt$conf.int),
    t_se = unname(tt$stderr),
    sign_p = bt$p.value, sign_S = unname(bt$statistic)
  )
}

binom_cases <- list(c(0, 5), c(1, 5), c(3, 5), c(5, 5), c(7, 12), c(0, 12), c(12, 12),
                    c(33, 80), c(1, 1), c(4, 9))
binom <- list()
for (lev in c(0.95, 0.9)) {
  for (kn in binom_cases) {
    b <- binom.test(kn[1], kn[2], conf.level = lev)
    binom[[length(binom) + 1]] <- list(x = kn[1], n = kn[2], level = lev,
                                       estimate = unname(b$estimate),
                                       ci = as.numeric(b$conf.int), p = b$p.value)
  }
}

cat(toJSON(list(R_version = R.version.string, paired = out, binom = binom),
           digits = NA, auto_unbox = TRUE, pretty = TRUE))
cat("\n")
