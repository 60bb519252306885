"""The strategies by name, and ``minimize``: the one place a strategy is registered.

To add a strategy: write it (a :class:`~neuronlab.train.strategy.Strategy` with a
step rule), import it here and add it to ``STRATEGIES``.
"""

from __future__ import annotations

from .descent import (
    Adagrad,
    Adam,
    GradientDescent,
    Momentum,
    Nesterov,
    RMSProp,
    StochasticGradientDescent,
)
from .gauss_newton import GaussNewton
from .history import Result
from .lbfgs import LBFGS
from .line_search import LineSearch
from .perceptron import PerceptronRule
from .search import ErrorDrivenSearch, MonteCarloSearch
from .strategy import Strategy

__all__ = ["STRATEGIES", "get_strategy", "strategy_name", "minimize"]

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (GradientDescent, MonteCarloSearch, ErrorDrivenSearch, PerceptronRule,
                StochasticGradientDescent, Momentum, Nesterov, Adagrad, RMSProp, Adam, LineSearch,
                LBFGS, GaussNewton)
}
_ALIASES = {"gd": "gradient_descent", "random": "monte_carlo", "random_search": "monte_carlo"}


def get_strategy(name: str, **options) -> Strategy:
    """Build the strategy called ``name`` (dashes or underscores) with ``options``."""
    if isinstance(name, Strategy):
        if options:
            raise TypeError("options go to the strategy's constructor, not with an instance")
        return name
    return STRATEGIES[strategy_name(name)](**options)


def strategy_name(name: str) -> str:
    """The registered name of a strategy ('gd' → 'gradient_descent', dashes → underscores)."""
    if not isinstance(name, str):
        raise TypeError(f"strategy must be a name such as 'gradient_descent', got {name!r}")
    key = name.replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in STRATEGIES:
        raise ValueError(
            f"unknown strategy {name!r}; choose one of: {', '.join(STRATEGIES)} (or 'gd')"
        )
    return key


def minimize(objective, theta0, strategy="gradient_descent", callback=None, **options) -> Result:
    """Minimise ``objective`` from ``theta0`` with the named strategy (see STRATEGIES)."""
    return get_strategy(strategy, **options).minimize(objective, theta0, callback=callback)
