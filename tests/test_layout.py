"""Parameter layouts: named blocks of one flat θ, seen as views (never copies), for the neuron
and for a dense layer's W (n_in × n_out) and b (n_out)."""

import numpy as np
import pytest

from neuronlab import Neuron
from neuronlab.core.layout import ParameterLayout


def dense_layer(n_in=3, n_out=2):
    return ParameterLayout([("W", (n_in, n_out), True), ("b", (n_out,), False)])


def test_the_neurons_layout_names_w_and_b_as_the_course_writes_them():
    layout = Neuron(3, "sigmoid").layout
    assert layout.size == 4 and layout.names == ["w", "b"] and layout.penalised == ["w"]
    assert layout.param_names == ["w1", "w2", "w3", "b"]
    theta = np.array([1.0, 2.0, 3.0, 4.0])
    assert layout.view(theta, "w").shape == (3,) and layout.view(theta, "b").shape == ()
    np.testing.assert_array_equal(layout.indices("w"), [0, 1, 2])


def test_a_dense_layer_is_a_layout_of_the_same_kind():
    layout = dense_layer()
    theta = np.arange(8.0)
    views = layout.views(theta)
    # W is the first 6 numbers, row by row (n_in × n_out), then b
    np.testing.assert_array_equal(views["W"], [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    np.testing.assert_array_equal(views["b"], [6.0, 7.0])
    assert layout.param_names == ["W[1,1]", "W[1,2]", "W[2,1]", "W[2,2]", "W[3,1]", "W[3,2]", "b1", "b2"]
    assert layout.penalised == ["W"]
    # the layer's z = x·W + b, read from θ where it is
    x = np.array([[1.0, -1.0, 2.0]])
    np.testing.assert_array_equal(x @ views["W"] + views["b"], [[0 - 2 + 8 + 6, 1 - 3 + 10 + 7]])


def test_views_are_views_and_writing_them_writes_theta():
    layout = dense_layer()
    theta = np.zeros(8)
    for name, view in layout.views(theta).items():
        assert np.shares_memory(view, theta) and view.base is not None, name
    layout.view(theta, "W")[2, 1] = 5.0
    layout.view(theta, "b")[...] = -1.0
    np.testing.assert_array_equal(theta, [0, 0, 0, 0, 0, 5.0, -1.0, -1.0])
    strided = np.zeros(16)[::2]  # a θ that is itself a strided view: still no copy
    assert np.shares_memory(layout.view(strided, "W"), strided)


def test_pack_puts_each_block_in_its_place():
    layout = Neuron(2, "identity").layout
    theta = layout.pack(w=np.array([0.5, -1.0]), b=0.25)
    np.testing.assert_array_equal(theta, [0.5, -1.0, 0.25])
    assert theta.dtype == np.float64
    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        layout.pack(w=[1.0, 2.0])


def test_mistakes_are_named():
    layout = dense_layer()
    with pytest.raises(ValueError, match=r"θ must hold 8 numbers \(W, b\), got shape \(7,\)"):
        layout.view(np.zeros(7), "W")
    with pytest.raises(KeyError, match="no block 'w' in this layout; it has W, b"):
        layout.view(np.zeros(8), "w")
    with pytest.raises(ValueError, match="two blocks are named 'b'"):
        ParameterLayout([("b", (), False), ("b", (2,), False)])
    with pytest.raises(ValueError, match="shape of whole numbers ≥ 1"):
        ParameterLayout([("W", (0, 2), True)])
