"""neuronlab: see and perform how a neuron learns.

A neuron computes z = w·x + b and ŷ = f(z); a loss J says how wrong ŷ is;
learning is gradient descent, θ ← θ − η·∇J(θ), from random θ, for T steps.

``import neuronlab`` is instant: each name below is imported from its layer the first
time it is used (PEP 562), so the command line can take over signals before any heavy
module loads, and plotting, data files and the compiled kernel load only when used.
"""

from importlib import import_module

from ._version import __version__

_EXPORTS = {
    "ACTIVATIONS": ".core.activations",
    "Activation": ".core.activations",
    "get_activation": ".core.activations",
    "DomainError": ".objectives.equation",
    "EquationObjective": ".objectives.equation",
    "ParseError": ".objectives.equation",
    "parse_equation": ".objectives.equation",
    "ConvergenceWarning": ".estimators.neuron",
    "NeuronClassifier": ".estimators.neuron",
    "NeuronRegressor": ".estimators.neuron",
    "NetworkClassifier": ".estimators.network",
    "NetworkRegressor": ".estimators.network",
    "NotFittedError": ".estimators.neuron",
    "History": ".train.history",
    "Result": ".train.history",
    "Step": ".train.history",
    "TrainedModel": ".io.model_file",
    "load": ".io.model_file",
    "save": ".io.model_file",
    "LOSSES": ".core.losses",
    "Loss": ".core.losses",
    "get_loss": ".core.losses",
    "Neuron": ".models.neuron",
    "init_params": ".models.neuron",
    "FunctionObjective": ".objectives.base",
    "NeuronObjective": ".objectives.neuron",
    "NotDifferentiableError": ".objectives.base",
    "Objective": ".objectives.base",
    "ArraySource": ".sources.array",
    "BlockSource": ".sources.blocks",
    "Adagrad": ".train.descent",
    "Adam": ".train.descent",
    "GradientDescent": ".train.descent",
    "Momentum": ".train.descent",
    "Nesterov": ".train.descent",
    "RMSProp": ".train.descent",
    "StochasticGradientDescent": ".train.descent",
    "GaussNewton": ".train.gauss_newton",
    "LBFGS": ".train.lbfgs",
    "LineSearch": ".train.line_search",
    "Training": ".train.loop",
    "PerceptronRule": ".train.perceptron",
    "STRATEGIES": ".train.registry",
    "get_strategy": ".train.registry",
    "minimize": ".train.registry",
    "ErrorDrivenSearch": ".train.search",
    "MonteCarloSearch": ".train.search",
    "SolveReport": ".train.solving",
    "solve": ".train.solving",
    "Strategy": ".train.strategy",
}


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value  # the next use finds it directly
        return value
    raise AttributeError(f"module 'neuronlab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = sorted(_EXPORTS)  # every lazily exported name, listed once (in _EXPORTS)
