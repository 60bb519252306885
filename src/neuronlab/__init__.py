"""neuronlab: see and perform how a neuron learns.

A neuron computes z = w·x + b and ŷ = f(z); a loss J says how wrong ŷ is;
learning is gradient descent, θ ← θ − η·∇J(θ), from random θ, for T steps.

``import neuronlab`` loads numpy and nothing heavier: plotting, data files and the
command line load what they need when they are used.
"""

from ._version import __version__
from .core.activations import ACTIVATIONS, Activation, get_activation
from .objectives.equation import DomainError, EquationObjective, ParseError, parse_equation
from .estimators.neuron import ConvergenceWarning, NeuronClassifier, NeuronRegressor, NotFittedError
from .train.history import History, Result, Step
from .io.model_file import TrainedModel, load, save
from .core.losses import LOSSES, Loss, get_loss
from .models.neuron import Neuron, init_params
from .sources.array import ArraySource
from .sources.blocks import BlockSource
from .objectives.base import FunctionObjective, NotDifferentiableError, Objective
from .objectives.neuron import NeuronObjective
from .train.descent import (
    Adagrad,
    Adam,
    GradientDescent,
    Momentum,
    Nesterov,
    RMSProp,
    StochasticGradientDescent,
)
from .train.gauss_newton import GaussNewton
from .train.lbfgs import LBFGS
from .train.line_search import LineSearch
from .train.loop import Training
from .train.perceptron import PerceptronRule
from .train.registry import STRATEGIES, get_strategy, minimize
from .train.search import ErrorDrivenSearch, MonteCarloSearch
from .train.solving import SolveReport, solve
from .train.strategy import Strategy


__all__ = [
    "Adagrad",
    "Adam",
    "LBFGS",
    "LineSearch",
    "Momentum",
    "Nesterov",
    "RMSProp",
    "StochasticGradientDescent",
    "ACTIVATIONS",
    "Activation",
    "ArraySource",
    "BlockSource",
    "ConvergenceWarning",
    "DomainError",
    "EquationObjective",
    "ErrorDrivenSearch",
    "FunctionObjective",
    "GaussNewton",
    "GradientDescent",
    "History",
    "LOSSES",
    "Loss",
    "MonteCarloSearch",
    "Neuron",
    "PerceptronRule",
    "NeuronClassifier",
    "NeuronObjective",
    "NeuronRegressor",
    "NotDifferentiableError",
    "NotFittedError",
    "Objective",
    "ParseError",
    "Result",
    "SolveReport",
    "STRATEGIES",
    "Step",
    "Strategy",
    "TrainedModel",
    "Training",
    "get_activation",
    "get_loss",
    "get_strategy",
    "init_params",
    "load",
    "minimize",
    "parse_equation",
    "save",
    "solve",
]
