r"""The MAP objective: -2 log posterior of eta given measured levels.

For one patient with samples :math:`y_j` (analyte :math:`a_j`, time
:math:`t_j`), model prediction :math:`f_j(\eta)` and residual SD
:math:`\sigma_j = \sqrt{\sigma_{add,a}^2 + (\sigma_{prop,a} f_j)^2}`:

.. math::

    \mathrm{OFV}(\eta) = \sum_{j \notin BLQ}
        \left[\log(2\pi\sigma_j^2) + \frac{(y_j - f_j)^2}{\sigma_j^2}\right]
      - 2 \sum_{j \in BLQ} \log \Phi\!\left(\frac{LLOQ_j - f_j}{\sigma_j}\right)
      + \eta^\top \Omega^{-1} \eta

The first two sums are -2 log-likelihood (normal residuals; Beal's M3 method
for results below the LLOQ), the last term is the log-normal prior
(constants that do not depend on eta, such as :math:`\log\det\Omega`, are left
out). Minimising OFV gives the maximum a-posteriori (MAP) estimate; with no
samples it is the prior mode, eta = 0.

References
----------
Beal SL. Ways to fit a PK model with some data below the quantification limit.
J Pharmacokinet Pharmacodyn 2001;28:481-504. doi:10.1023/A:1012299115260
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import log_ndtr

from neurodose.case.regimen import ExpandedDoses
from neurodose.errors import SolverError
from neurodose.mipd.levels import Observations
from neurodose.mipd.model import PriorModel

__all__ = ["Objective"]

FloatArray = NDArray[np.float64]
_LOG2PI = float(np.log(2 * np.pi))
#: predictions below this (ng/mL) are floored when a residual SD is purely
#: proportional, so that sigma never reaches 0 (documented in docs/mipd.md)
_F_FLOOR = 1e-6


@dataclass(frozen=True)
class Objective:
    """OFV(eta) for one patient, vectorised over rows of eta.

    Parameters
    ----------
    model : PriorModel
    doses : ExpandedDoses
    obs : Observations
    """

    model: PriorModel
    doses: ExpandedDoses
    obs: Observations

    def __post_init__(self) -> None:
        t_unique, inv = np.unique(self.obs.times_h, return_inverse=True)
        object.__setattr__(self, "_t", t_unique)
        object.__setattr__(self, "_col", inv.ravel())
        groups = []
        names = list(dict.fromkeys(self.obs.analyte))
        arr = np.asarray(self.obs.analyte, dtype=object)
        for name in names:
            comps = name.split("+")
            for c in comps:
                if c not in self.model.analytes:
                    from neurodose.errors import UnknownNameError

                    raise UnknownNameError("analyte", name, self.model.analytes)
            idx = np.nonzero(arr == name)[0]
            res = [
                (
                    c,
                    float(self.model.residual[c].proportional),
                    float(self.model.residual[c].additive),
                )
                for c in comps
            ]
            groups.append(
                (name, idx, self._col[idx], self.obs.value[idx], self.obs.blq[idx], res)  # type: ignore[attr-defined]
            )
        object.__setattr__(self, "_groups", groups)

    @property
    def n_obs(self) -> int:
        return len(self.obs)

    @staticmethod
    def _f_var(
        pred: dict[str, FloatArray], col: NDArray[np.intp], res: list[tuple[str, float, float]]
    ) -> tuple[FloatArray, FloatArray]:
        """Prediction and residual variance of one observable (an analyte or a sum
        of analytes; the errors of summed analytes are taken as independent)."""
        f = np.zeros((next(iter(pred.values())).shape[0], col.size))
        var = np.zeros_like(f)
        for a, prop, add in res:
            fa = pred[a][:, col]
            f = f + fa
            var = var + add * add + (prop * np.maximum(fa, _F_FLOOR)) ** 2
        return f, var

    def predictions(self, eta: FloatArray) -> FloatArray:
        """Predicted value per sample, (n, m) in sample order."""
        return self.predictions_and_sd(eta)[0]

    def predictions_and_sd(self, eta: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Predicted value and residual SD per sample, each (n, m) in sample order."""
        eta = np.atleast_2d(eta)
        out = np.empty((eta.shape[0], self.n_obs))
        sd = np.empty_like(out)
        if self.n_obs == 0:
            return out, sd
        pred = self.model.predict(eta, self.doses, self._t)  # type: ignore[attr-defined]
        for _name, idx, col, _y, _blq, res in self._groups:  # type: ignore[attr-defined]
            f, var = self._f_var(pred, col, res)
            out[:, idx] = f
            sd[:, idx] = np.sqrt(var)
        return out, sd

    def data_terms(self, eta: FloatArray) -> FloatArray:
        """-2 log-likelihood per row of eta (n,)."""
        eta = np.atleast_2d(eta)
        n = eta.shape[0]
        if self.n_obs == 0:
            return np.zeros(n)
        pred = self.model.predict(eta, self.doses, self._t)  # type: ignore[attr-defined]
        total = np.zeros(n)
        for name, _idx, col, y, blq, res in self._groups:  # type: ignore[attr-defined]
            f, var = self._f_var(pred, col, res)
            if not np.all(np.isfinite(f)):
                raise SolverError(
                    f"the PK engine returned non-finite {name} predictions during estimation"
                )
            if np.all(~blq):
                r = y - f
                total += np.sum(_LOG2PI + np.log(var) + r * r / var, axis=1)
            else:
                q = ~blq
                if np.any(q):
                    r = y[q] - f[:, q]
                    v = var[:, q]
                    total += np.sum(_LOG2PI + np.log(v) + r * r / v, axis=1)
                z = (y[blq] - f[:, blq]) / np.sqrt(var[:, blq])
                total += -2.0 * np.sum(log_ndtr(z), axis=1)
        return total

    def prior_terms(self, eta: FloatArray) -> FloatArray:
        """eta' Omega^-1 eta per row (n,)."""
        eta = np.atleast_2d(eta)
        return np.einsum("ni,ij,nj->n", eta, self.model.omega_inv, eta)

    def __call__(self, eta: FloatArray) -> FloatArray:
        """OFV per row of eta (n,)."""
        eta = np.atleast_2d(eta)
        return self.data_terms(eta) + self.prior_terms(eta)
