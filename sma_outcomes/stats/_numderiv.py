"""Accurate numerical derivatives by Richardson extrapolation (as R's numDeriv).

Used where an exact Hessian of a likelihood is needed (Satterthwaite degrees of
freedom take the inverse Hessian of the REML log-likelihood; a crude finite
difference is 1-2 % off, as nlme's ``apVar`` shows).

The step starts at ``d * |x|`` (``eps`` where ``x`` is near zero) and is halved
``r - 1`` times; the central differences are then combined by Richardson
extrapolation, which removes the error terms of order h^2, h^4, ...

Examples
--------
>>> import numpy as np
>>> f = lambda x: np.exp(x[0]) * np.sin(x[1])
>>> H = hessian(f, np.array([0.3, 0.7]))
>>> bool(np.allclose(H, [[np.exp(.3)*np.sin(.7), np.exp(.3)*np.cos(.7)],
...                      [np.exp(.3)*np.cos(.7), -np.exp(.3)*np.sin(.7)]], atol=1e-9))
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: numDeriv's default ``zero.tol = sqrt(.Machine$double.eps / 7e-7)``: below it a
#: coordinate counts as zero and gets the absolute step ``eps``.
ZERO_TOL = float(np.sqrt(np.finfo(float).eps / 7e-7))


def _steps(x: np.ndarray, d: float, eps: float, zero_tol: float) -> np.ndarray:
    return np.where(np.abs(x) < zero_tol, eps, np.abs(d * x))


def _richardson(a: np.ndarray, v: float = 2.0) -> np.ndarray:
    """Extrapolate along axis 0 (successively smaller steps, ratio ``v``)."""
    a = np.asarray(a, dtype=float)
    m = 1
    while a.shape[0] > 1:
        f = v ** (2 * m)
        a = (a[1:] * f - a[:-1]) / (f - 1.0)
        m += 1
    return a[0]


def gradient(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    *,
    d: float = 1e-4,
    eps: float = 1e-4,
    r: int = 4,
    zero_tol: float = ZERO_TOL,
) -> np.ndarray:
    """Gradient of a scalar function, Richardson-extrapolated central differences.

    Examples
    --------
    >>> round(float(gradient(lambda x: (x ** 3).sum(), np.array([2.0]))[0]), 9)
    12.0
    """
    return jacobian(lambda z: np.atleast_1d(f(z)), x, d=d, eps=eps, r=r, zero_tol=zero_tol)[0]


def jacobian(
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    *,
    d: float = 1e-4,
    eps: float = 1e-4,
    r: int = 4,
    zero_tol: float = ZERO_TOL,
) -> np.ndarray:
    """Jacobian ``J[i, j] = d f_i / d x_j`` of a vector function.

    Examples
    --------
    >>> jacobian(lambda x: np.array([x[0] * x[1], x[1]]), np.array([2.0, 3.0])).round(8)
    array([[3., 2.],
           [0., 1.]])
    """
    x = np.asarray(x, dtype=float)
    h0 = _steps(x, d, eps, zero_tol)
    f0 = np.atleast_1d(np.asarray(f(x), dtype=float))
    out = np.empty((f0.size, x.size))
    for j in range(x.size):
        seq = []
        h = h0[j]
        for _ in range(r):
            e = np.zeros_like(x)
            e[j] = h
            seq.append((np.ravel(f(x + e)) - np.ravel(f(x - e))) / (2.0 * h))
            h /= 2.0
        out[:, j] = _richardson(np.array(seq))
    return out


def hessian(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    *,
    d: float = 0.1,
    eps: float = 1e-4,
    r: int = 4,
    zero_tol: float = ZERO_TOL,
) -> np.ndarray:
    """Hessian of a scalar function by Richardson-extrapolated second differences.

    Diagonal terms use ``(f(x+h) - 2 f(x) + f(x-h)) / h^2``, off-diagonal terms the
    four-point formula, each extrapolated over ``r`` halvings of the step, as
    numDeriv's ``genD`` (whose default first step is also ``d = 0.1``).

    Examples
    --------
    >>> round(float(hessian(lambda x: (x ** 4).sum(), np.array([1.0]))[0, 0]), 9)
    12.0
    """
    x = np.asarray(x, dtype=float)
    p = x.size
    h0 = _steps(x, d, eps, zero_tol)
    fx = float(f(x))
    H = np.empty((p, p))
    for i in range(p):
        seq = []
        h = h0[i]
        for _ in range(r):
            e = np.zeros(p)
            e[i] = h
            seq.append((float(f(x + e)) - 2.0 * fx + float(f(x - e))) / (h * h))
            h /= 2.0
        H[i, i] = _richardson(np.array(seq))
    for i in range(p):
        for j in range(i):
            seq = []
            hi, hj = h0[i], h0[j]
            for _ in range(r):
                ei = np.zeros(p)
                ej = np.zeros(p)
                ei[i] = hi
                ej[j] = hj
                val = (
                    float(f(x + ei + ej))
                    - float(f(x + ei - ej))
                    - float(f(x - ei + ej))
                    + float(f(x - ei - ej))
                ) / (4.0 * hi * hj)
                seq.append(val)
                hi /= 2.0
                hj /= 2.0
            H[i, j] = H[j, i] = _richardson(np.array(seq))
    return H
