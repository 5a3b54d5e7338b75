"""Predicted value: the BG/NBD model of how often a member buys and whether they still do (Fader,
Hardie & Lee 2005, "Counting your customers the easy way"; or its modified form, MBG/NBD, where a
member may drop out at the first purchase too), the Gamma-Gamma model of how much a
purchase is worth (Fader, Hardie & Lee 2005, "RFM and CLV"), and the lifetime value they give
together. Plain NumPy and SciPy: the two likelihoods and their closed-form expectations, fitted by
maximum likelihood (tests/test_value_models.py reproduces the papers' CDNOW fits).

Time is in weeks (days / 7). For each member: ``x`` the repeat purchases (purchase days after
the first; purchases on one day are one), ``t_x`` the time from the first purchase to the last,
``T`` the time from the first purchase to the end of the observation; ``m`` the mean value of
the repeat purchases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

WEEKS_PER_MONTH = 30 / 7
Floats = NDArray[np.float64]


def _arrays(*values: ArrayLike) -> list[Floats]:
    return [np.asarray(v, dtype=np.float64) for v in values]


def _fit(
    negative_log_likelihood: Callable[[Floats], float], start: list[float]
) -> tuple[Floats, bool]:
    """Minimises over the logarithms of the parameters (all positive), each kept within
    e^-10..e^10: with few members the likelihood can keep rising towards a limit (a Poisson
    process when r and alpha grow together), and the fit then stops at the bound."""
    result = minimize(
        negative_log_likelihood,
        np.log(start),
        method="L-BFGS-B",
        bounds=[(-10.0, 10.0)] * len(start),
        options={"maxiter": 10_000, "ftol": 1e-12, "gtol": 1e-8},
    )
    return np.exp(result.x), bool(result.success)


@dataclass(frozen=True)
class PurchaseModel:
    """What BG/NBD and MBG/NBD share: the purchase rate's Gamma (r, alpha), the drop-out
    probability's Beta (a, b), and a member's probability alive from their odds of having
    dropped out; each model says how it fits, its odds and its expected purchases."""

    r: float
    alpha: float
    a: float
    b: float
    converged: bool = True

    def _odds_dead(self, x: Floats, t_x: Floats, T: Floats) -> Floats:
        raise NotImplementedError

    def expected_purchases(self, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Floats:
        """The purchases each member is expected to make in the next ``t`` weeks."""
        raise NotImplementedError

    def p_alive(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Floats:
        """The probability that each member still buys."""
        x, t_x, T = _arrays(x, t_x, T)
        return 1 / (1 + self._odds_dead(x, t_x, T))


@dataclass(frozen=True)
class BgNbd(PurchaseModel):
    @classmethod
    def fit(cls, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> BgNbd:
        x, t_x, T = _arrays(x, t_x, T)
        repeat = x > 0

        def negative_log_likelihood(log_params: Floats) -> float:
            r, alpha, a, b = np.exp(log_params)
            a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
            a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
            a3 = -(r + x) * np.log(alpha + T)
            a4 = np.full_like(x, -np.inf)
            a4[repeat] = (
                np.log(a)
                - np.log(b + x[repeat] - 1)
                - (r + x[repeat]) * np.log(alpha + t_x[repeat])
            )
            return float(-np.sum(a1 + a2 + np.logaddexp(a3, a4)))

        (r, alpha, a, b), converged = _fit(negative_log_likelihood, [1.0, 1.0, 1.0, 1.0])
        return cls(float(r), float(alpha), float(a), float(b), converged)

    def _odds_dead(self, x: Floats, t_x: Floats, T: Floats) -> Floats:
        """a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x), for x > 0; else 0."""
        odds = np.zeros_like(x)
        repeat = x > 0
        xr = x[repeat]
        odds[repeat] = (
            self.a
            / (self.b + xr - 1)
            * ((self.alpha + T[repeat]) / (self.alpha + t_x[repeat])) ** (self.r + xr)
        )
        return odds

    def expected_purchases(self, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Floats:
        x, t_x, T = _arrays(x, t_x, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        ahead = (alpha + T) / (alpha + T + t)
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        buying = (a + b + x - 1) / (a - 1) * (1 - ahead ** (r + x) * hyp)
        return buying / (1 + self._odds_dead(x, t_x, T))


@dataclass(frozen=True)
class MbgNbd(PurchaseModel):
    """The modified BG/NBD (Batislam, Denizel & Filiztekin 2007; Wagner & Hoppe 2008): as BG/NBD,
    but a member may also drop out at the first purchase, so one who never came back has a
    probability alive below 1 that falls as time passes (BG/NBD holds it at 1)."""

    @classmethod
    def fit(cls, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> MbgNbd:
        x, t_x, T = _arrays(x, t_x, T)

        def negative_log_likelihood(log_params: Floats) -> float:
            r, alpha, a, b = np.exp(log_params)
            a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
            a2 = gammaln(a + b) + gammaln(b + x + 1) - gammaln(b) - gammaln(a + b + x + 1)
            a3 = -(r + x) * np.log(alpha + T)
            a4 = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
            return float(-np.sum(a1 + a2 + a3 + np.logaddexp(a4, 0)))

        (r, alpha, a, b), converged = _fit(negative_log_likelihood, [1.0, 1.0, 1.0, 1.0])
        return cls(float(r), float(alpha), float(a), float(b), converged)

    def _odds_dead(self, x: Floats, t_x: Floats, T: Floats) -> Floats:
        """a / (b + x) * ((alpha + T) / (alpha + t_x))^(r + x), for every x (0 too)."""
        return self.a / (self.b + x) * ((self.alpha + T) / (self.alpha + t_x)) ** (self.r + x)

    def expected_purchases(self, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Floats:
        x, t_x, T = _arrays(x, t_x, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        ahead = (alpha + T) / (alpha + T + t)
        hyp = hyp2f1(r + x, b + x + 1, a + b + x, t / (alpha + T + t))
        buying = (a + b + x) / (a - 1) * (1 - ahead ** (r + x) * hyp)
        return buying / (1 + self._odds_dead(x, t_x, T))


MODELS: dict[str, type[BgNbd] | type[MbgNbd]] = {"bg-nbd": BgNbd, "mbg-nbd": MbgNbd}


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float
    converged: bool = True

    @classmethod
    def fit(cls, x: ArrayLike, m: ArrayLike) -> GammaGamma:
        """From the members with repeat purchases (x > 0) and their mean repeat value m."""
        x, m = _arrays(x, m)
        keep = (x > 0) & (m > 0)
        x, m = x[keep], m[keep]

        def negative_log_likelihood(log_params: Floats) -> float:
            p, q, gamma = np.exp(log_params)
            return float(
                -np.sum(
                    gammaln(p * x + q)
                    - gammaln(p * x)
                    - gammaln(q)
                    + q * np.log(gamma)
                    + (p * x - 1) * np.log(m)
                    + p * x * np.log(x)
                    - (p * x + q) * np.log(x * m + gamma)
                )
            )

        (p, q, gamma), converged = _fit(negative_log_likelihood, [1.0, 1.0, 1.0])
        return cls(float(p), float(q), float(gamma), converged)

    def expected_spend(self, x: ArrayLike, m: ArrayLike) -> Floats:
        """Each member's expected value per purchase (the population mean for x = 0)."""
        x, m = _arrays(x, m)
        return (self.p * (self.gamma + x * m)) / (self.p * x + self.q - 1)


def lifetime_value(
    purchases: PurchaseModel,
    spend: GammaGamma,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    m: ArrayLike,
    months: int,
    monthly_discount: float,
) -> Floats:
    """The value each member is expected to bring in the next ``months``, each month's expected
    purchases times the expected value per purchase, discounted at ``monthly_discount``."""
    x, t_x, T, m = _arrays(x, t_x, T, m)
    per_purchase = spend.expected_spend(x, m)
    value = np.zeros_like(x)
    before = np.zeros_like(x)
    for month in range(1, months + 1):
        by_then = purchases.expected_purchases(month * WEEKS_PER_MONTH, x, t_x, T)
        value += (by_then - before) * per_purchase / (1 + monthly_discount) ** month
        before = by_then
    return value
