"""neuronlab: see and perform how a neuron learns.

A neuron computes z = w·x + b and ŷ = f(z); a loss J says how wrong ŷ is;
learning is gradient descent, θ ← θ − η·∇J(θ), from random θ, for T steps.

``import neuronlab`` loads numpy and nothing heavier: plotting, data files and the
command line load what they need when they are used.
"""

from .activations import ACTIVATIONS, Activation, get_activation
from .equation import DomainError, EquationObjective, ParseError, parse_equation
from .estimators import ConvergenceWarning, NeuronClassifier, NeuronRegressor, NotFittedError
from .history import History, Result, Step
from .io import TrainedModel, load, save
from .losses import LOSSES, Loss, get_loss
from .neuron import Neuron, init_params
from .objective import FunctionObjective, NeuronObjective, NotDifferentiableError, Objective
from .residual_strategies import GaussNewton
from .solving import SolveReport, solve
from .strategies import (
    STRATEGIES,
    ErrorDrivenSearch,
    GradientDescent,
    MonteCarloSearch,
    PerceptronRule,
    Strategy,
    get_strategy,
    minimize,
)

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "Activation",
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
