"""The strategies by name, and ``minimize``: the one place a strategy is registered.

To add a strategy: write it (a :class:`~neuronlab.train.strategy.Strategy` with a
step rule), import it here and add it to ``STRATEGIES``.
"""

from __future__ import annotations

import functools
import inspect

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

__all__ = ["STRATEGIES", "get_strategy", "strategy_name", "strategy_takes", "strategies_taking",
           "minimize"]

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (GradientDescent, MonteCarloSearch, ErrorDrivenSearch, PerceptronRule,
                StochasticGradientDescent, Momentum, Nesterov, Adagrad, RMSProp, Adam, LineSearch,
                LBFGS, GaussNewton)
}
_ALIASES = {"gd": "gradient_descent", "random": "monte_carlo", "random_search": "monte_carlo"}

#: the common options under the name a strategy gives them: every strategy takes
#: ``max_steps`` (for the searches and Gauss–Newton, evaluations of J) and, where it has one,
#: ``learning_rate`` (error-driven search: its first step)
_OWN_NAMES = {
    "monte_carlo": {"max_steps": "budget"},
    "error_driven": {"max_steps": "budget", "learning_rate": "step"},
    "gauss_newton": {"max_steps": "budget"},
}


@functools.cache
def _settings_of(cls) -> frozenset:
    """The keyword settings a strategy class takes, its own and those it hands its bases."""
    names = set()
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            names |= {p.name for p in inspect.signature(klass.__init__).parameters.values()
                      if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self"}
    return frozenset(names)


def _own_name(key: str, option: str):
    """What strategy ``key`` calls ``option``, or None when it has no such setting."""
    option = _OWN_NAMES.get(key, {}).get(option, option)
    return option if option in _settings_of(STRATEGIES[key]) else None


def strategy_takes(name: str, option: str) -> bool:
    """Whether the strategy called ``name`` has the setting ``option`` (by its common name)."""
    return _own_name(strategy_name(name), option) is not None


def strategies_taking(option: str) -> list[str]:
    """The strategies that have the setting ``option``."""
    return [key for key in STRATEGIES if _own_name(key, option) is not None]


def get_strategy(name: str, **options) -> Strategy:
    """Build the strategy called ``name`` (dashes or underscores) with ``options``.

    The common options have one name for every strategy (``max_steps``, ``learning_rate``,
    ``tol``, ``random_state``…); an option the strategy has no use for is a ValueError that
    names the strategies that take it."""
    if isinstance(name, Strategy):
        if options:
            raise TypeError("options go to the strategy's constructor, not with an instance")
        return name
    key = strategy_name(name)
    settings = {}
    for option, value in options.items():
        own = _own_name(key, option)
        if own is None:
            takers = strategies_taking(option)
            raise ValueError(
                f"{key} has no option {option!r}; "
                + (f"it is an option of: {', '.join(takers)}" if takers else
                   f"no strategy takes it (see help(neuronlab.{STRATEGIES[key].__name__}))"))
        settings[own] = value
    return STRATEGIES[key](**settings)


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
