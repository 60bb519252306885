"""The equation parser: grammar, precedence, implicit products, errors, limits, fuzzing."""

import builtins
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuronlab.objectives.equation import (
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    BinOp,
    Call,
    Neg,
    Num,
    ParseError,
    Var,
    parse_equation,
    parse_expression,
    to_text,
)


def value(text, **values):
    return float(parse_expression(text).evaluate(values))


# --- what the text means: each value worked out by hand -------------------------------

@pytest.mark.parametrize("text, x, expected", [
    ("256x", 2.0, 512.0),
    ("2(x+1)", 3.0, 8.0),
    ("(x+1)(x-1)", 3.0, 8.0),
    ("2x^2", 3.0, 18.0),          # 2·(x²), not (2x)²
    ("-x^2", 3.0, -9.0),          # −(x²)
    ("-2^2", 0.0, -4.0),
    ("2^3^2", 0.0, 512.0),        # right-associative: 2^(3^2)
    ("x**2", 3.0, 9.0),
    ("2^-1", 0.0, 0.5),
    ("x/2/2", 8.0, 2.0),          # left-associative: (x/2)/2
    ("x - 1 - 1", 5.0, 3.0),
    ("1e-3x", 2.0, 0.002),
    ("1.5E+2 + .5", 0.0, 150.5),
    ("3 - -x", 2.0, 5.0),
    ("+x", 4.0, 4.0),
    ("2sin(x)", math.pi / 2, 2.0),
    ("sqrt(x) + abs(-x) + log(exp(x))", 4.0, 10.0),
    ("cos(x) + tan(x)", 0.0, 1.0),
    ("(x+1)y", 2.0, None),
])
def test_expressions_mean_what_the_course_writes(text, x, expected):
    if expected is None:  # the one with two unknowns
        assert value(text, x=x, y=5.0) == 15.0
    else:
        assert value(text, x=x) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_an_equation_has_two_sides_and_a_bare_expression_means_equals_zero():
    eq = parse_equation("256x + 212y = 1492")
    assert eq.variables() == ["x", "y"]
    assert eq.lhs == BinOp("+", BinOp("*", Num(256.0), Var("x")), BinOp("*", Num(212.0), Var("y")))
    assert eq.rhs == Num(1492.0)
    assert parse_equation("x - 3").rhs == Num(0.0)


def test_any_identifier_is_an_unknown():
    eq = parse_equation("speed * time_1 = distance")
    assert eq.variables() == ["distance", "speed", "time_1"]


def test_evaluate_is_vectorised_over_arrays():
    tree = parse_expression("x^2 + 3y")
    xs, ys = np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, -1.0])
    np.testing.assert_allclose(tree.evaluate({"x": xs, "y": ys}), xs ** 2 + 3 * ys)


# --- errors: what was expected, and where --------------------------------------------

def test_a_parse_error_names_what_was_expected_and_points_at_the_column():
    with pytest.raises(ParseError) as info:
        parse_equation("256x + ^ = 3")
    error = info.value
    assert error.column == 8
    assert "expected a number, a name" in str(error) and "found '^'" in str(error)
    assert "column 8" in str(error) and "256x + ⟦^⟧ = 3" in str(error)
    assert "\n" not in str(error)
    text_line, caret_line = error.caret().split("\n")
    assert text_line == "256x + ^ = 3"
    assert caret_line == " " * 7 + "^"


@pytest.mark.parametrize("text, words", [
    ("3xy", "write 3*x*y"),
    ("x ==", "found '='"),
    ("x = 1 = 2", "one '='"),
    ("__import__('os')", "unexpected character"),
    ("__import__(os)", "unknown function '__import__'"),
    ("foo(x) = 1", "unknown function 'foo'"),
    ("sin x", "sin(x)"),
    ("(x + 1", "')' to close"),
    ("x y", "expected an operator"),
    ("x = ", "after '='"),
    ("1e999 x", "too large"),
    ("x; import os", "unexpected character ';'"),
    ("", "empty"),
])
def test_bad_input_gives_a_clear_one_line_error(text, words):
    with pytest.raises(ValueError) as info:
        parse_equation(text)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_length_and_nesting_limits_give_clean_errors_not_recursion_errors():
    with pytest.raises(ValueError, match="characters long; the limit is 10,000"):
        parse_equation("x" * 1_000_000)
    with pytest.raises(ValueError, match="limit"):
        parse_equation("(" * 10_000 + "x" + ")" * 10_000)
    # within the length limit, the nesting limit speaks
    for text in ["(" * 4000 + "x" + ")" * 4000, "-" * 5000 + "x", "x^" * 3000 + "x",
                 "sin(" * 1500 + "x" + ")" * 1500, "(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1),
                 "-(" * 60 + "x" + ")" * 60]:
        assert len(text) <= MAX_LENGTH
        with pytest.raises(ParseError, match=f"more than {MAX_DEPTH} levels"):
            parse_equation(text)
    # just inside the limit is fine
    assert value("(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH, x=2.0) == 2.0


def _leftmost_depth(tree):
    depth = 1
    while isinstance(tree, BinOp):
        tree, depth = tree.left, depth + 1
    return depth


def test_a_long_chain_of_terms_is_not_nesting():
    # the review's case: 119 terms, far below the length limit
    text = " + ".join(f"x{i}" for i in range(1, 120)) + " = 1"
    equation = parse_equation(text)
    assert len(equation.variables()) == 119
    # a chain as long as the length limit allows: 5,000 terms, a left-deep tree of
    # 5,000 levels, evaluated, differentiated, printed, compared and hashed without
    # recursion; the values by hand: 5000·x, x − 1·4999, x·1·…·1
    chains = [("+".join(["x"] * 5000), 5000 * 3.0, 5000.0),
              ("x" + "-1" * 4999, 3.0 - 4999, 1.0),
              ("x" + "*1" * 4999, 3.0, 1.0)]
    for chain, expected, slope in chains:
        assert len(chain) <= MAX_LENGTH
        tree = parse_expression(chain)
        assert _leftmost_depth(tree) == 5000
        assert float(tree.evaluate({"x": 3.0})) == expected
        assert float(tree.gradient({"x": 3.0})["x"]) == slope
        again = parse_expression(chain)
        assert again is not tree and again == tree and hash(again) == hash(tree)
        assert repr(tree).startswith("BinOp(op=")
        assert repr(tree).count("Var(name='x')") == chain.count("x")
        assert to_text(tree).replace(" ", "") == chain
        # printed with spaces the text is 4 characters a term: 2,400 terms still read back
        shorter = parse_expression(chain[:2 * 2400 - 1])
        assert parse_expression(to_text(shorter)) == shorter
    assert parse_expression("+".join(["x"] * 5000)) != parse_expression("+".join(["x"] * 4999))
    assert parse_expression("x + x + y") != parse_expression("x + x + x")


def test_parsing_never_runs_code(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("user text reached eval/exec/compile")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    for text in ["__import__('os').system('echo hi')", "x.__class__", "exec(x)", "eval(x) = 1",
                 "lambda: 0", "x if x else y"]:
        with pytest.raises(ParseError):
            parse_equation(text)
    assert value("2x + 1", x=3.0) == 7.0


# --- property tests --------------------------------------------------------------------

NAMES = st.sampled_from(["x", "y", "z", "speed", "x1", "_t"])
NUMBERS = st.one_of(
    st.integers(0, 10 ** 6).map(float),
    st.floats(min_value=0.0, max_value=1e300, allow_nan=False, allow_infinity=False),
)
LEAVES = st.one_of(st.builds(Num, NUMBERS), st.builds(Var, NAMES))
TREES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.builds(Neg, children),
        st.builds(BinOp, st.sampled_from("+-*/^"), children, children),
        st.builds(Call, st.sampled_from(FUNCTIONS), children),
    ),
    max_leaves=16,
)
PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(TREES)
def test_printing_then_parsing_gives_the_same_tree(tree):
    assert parse_expression(to_text(tree)) == tree


ALPHABET = "0123456789.eE xyz_+-*/^()=sincoxplgqrtab,'![]{};\"\\\t\n"


@PROPERTY
@given(st.one_of(st.text(alphabet=ALPHABET, max_size=40), st.text(max_size=20)))
def test_random_text_parses_or_fails_cleanly(text):
    try:
        equation = parse_equation(text)
    except ParseError as error:
        assert "\n" not in str(error) and 1 <= error.column <= len(text) + 1
        return
    except ValueError as error:  # empty text
        assert "\n" not in str(error)
        return
    again = parse_equation(str(equation))
    assert (again.lhs, again.rhs) == (equation.lhs, equation.rhs)
