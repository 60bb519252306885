"""Equations as objectives: parse ``LHS = RHS``, evaluate it, differentiate it.

The course opens with ``256x + 212y = 1492``.  Solving it is minimising

    r(θ) = LHS(θ) − RHS(θ),   J(θ) = ½·r(θ)²,   ∇J(θ) = r(θ)·∇r(θ)

over θ = the unknowns.  A system of equations r₁ … r_m sums the losses,
J = ½·Σᵢ rᵢ², ∇J = Dᵀr with the Jacobian D_ij = ∂rᵢ/∂θⱼ.

User text is never handed to ``eval``/``exec``/``compile`` or a computer-algebra
system: a tokenizer and a recursive-descent parser build a small expression tree,
and the tree is evaluated and differentiated (reverse-mode, exactly) by this module
with NumPy.  Grammar (lowest precedence first)::

    equation := expr ['=' expr]                     a bare expression means expr = 0
    expr     := term (('+' | '-') term)*
    term     := unary (('*' | '/') unary | implicit)*
    unary    := ('-' | '+') unary | power
    power    := primary [('^' | '**') unary]         right-associative: x^y^z = x^(y^z)
    primary  := number | name | function '(' expr ')' | '(' expr ')'

so ``-x^2`` is −(x²) and ``2x^2`` is 2·(x²).  Implicit multiplication follows the
course's way of writing: after a number or ``)`` comes a name or ``(`` — ``256x``,
``2(x+1)``, ``(x+1)(x-1)``.  ``3xy`` is refused (is it 3·x·y or 3·xy?).  Functions:
sin cos tan exp log (natural) sqrt abs.  Unknowns are ordered alphabetically.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field, fields
from typing import Iterable, Mapping, Sequence, Union

import numpy as np

from .base import GRADIENT, MANY_POINTS, RESIDUALS, Objective

__all__ = [
    "DomainError",
    "Equation",
    "EquationObjective",
    "Expr",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXACT_UNKNOWNS",
    "MAX_LENGTH",
    "ParseError",
    "expected_guesses",
    "parse_equation",
    "parse_expression",
]

#: longest equation text accepted (characters); equations people type are far shorter
MAX_LENGTH = 10_000
#: deepest nesting accepted: parentheses, function calls, signs and powers (a sum or
#: product of many terms is not nesting: its length is bounded by MAX_LENGTH only)
MAX_DEPTH = 100
#: most unknowns (with a nonzero coefficient) for which ``expected_guesses`` sums its
#: 2^k terms
MAX_EXACT_UNKNOWNS = 20

FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "sqrt", "abs")
#: each function and binary operator by its name in the tree; functions and powers are
#: NumPy's ufuncs so that on Python floats too an overflow gives inf (not OverflowError)
_OPERATIONS = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log,
               "sqrt": np.sqrt, "abs": np.abs, "+": operator.add, "-": operator.sub,
               "*": operator.mul, "/": operator.truediv, "^": np.power}


def _fractional(b):
    """b is not a whole number; ±inf counts as whole (rounding keeps it), NaN does not.

    With % rather than np.round so that on a float it stays a Python bool: a Python
    bool & a NumPy bool costs a microsecond, and the one-point path is hot.
    """
    return (b % 1 != 0) & (abs(b) != math.inf)


#: where an operation is undefined: (what the DomainError names, test of the operands).
#: The tests take Python floats (one point) and arrays (many points) alike; the only
#: place these rules are written
_DOMAIN_RULES = {
    "log": (("log of a number ≤ 0", lambda u: u <= 0),),
    "sqrt": (("square root of a negative number", lambda u: u < 0),),
    "/": (("division by zero", lambda a, b: b == 0),),
    "^": (("zero to a negative power (division by zero)", lambda a, b: (a == 0) & (b < 0)),
          ("a negative number to a fractional power",
           lambda a, b: (a < 0) & _fractional(b))),
}


def _operation_name(node) -> str:
    """The key of a function call or a binary operation in _OPERATIONS and _DOMAIN_RULES."""
    return node.func if isinstance(node, Call) else node.op


class ParseError(ValueError):
    """The text is not an equation this parser understands.

    ``str(error)`` is one line: what was expected, the column (1-based), and the text
    around it with the offending spot marked ``⟦…⟧``.  :meth:`caret` gives the
    two-line form, the text with a caret ``^`` under the column.
    """

    def __init__(self, message: str, text: str, position: int):
        self.reason = message
        self.text = text
        self.position = position
        self.column = position + 1
        super().__init__(f"{message} at column {self.column}: {self._excerpt()}")

    def _excerpt(self, width: int = 30) -> str:
        start = max(0, self.position - width)
        end = min(len(self.text), self.position + width)
        here = self.text[self.position:self.position + 1]
        before = ("…" if start > 0 else "") + self.text[start:self.position]
        after = self.text[self.position + 1:end] + ("…" if end < len(self.text) else "")
        return f"{before}⟦{here}⟧{after}".replace("\n", " ")

    def caret(self, width: int = 60) -> str:
        """The text (a window of it, for long texts) and a caret under the column."""
        start = max(0, self.position - width)
        window = self.text[start:self.position + width].replace("\n", " ")
        return f"{window}\n{' ' * (self.position - start)}^"


class DomainError(ValueError):
    """An operation is undefined at the point asked for (log of a negative, x/0, …).

    ``operation`` names it, e.g. ``"division by zero"``.
    """

    operation = ""


# --------------------------------------------------------------------------------------
# Expression tree
# --------------------------------------------------------------------------------------

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "^": 4, "atom": 5}


@dataclass(frozen=True, eq=False, repr=False)
class Expr:
    """A node of the expression tree.  Trees compare equal when they have the same shape.

    A sum or product of many terms is a left-deep chain of :class:`BinOp` nodes
    (``a + b + c`` is ``(a + b) + c``), as deep as it is long; so comparing, hashing,
    printing and evaluating trees walk them with an explicit stack, never by recursion.
    """

    #: names of the fields holding sub-trees, and of those holding plain data
    _subtrees = ()
    _data = ()

    @property
    def precedence(self) -> int:
        return _PRECEDENCE["atom"]

    def variables(self) -> list[str]:
        """The names in the tree, sorted."""
        return sorted({n.name for n in _postorder(self) if isinstance(n, Var)})

    def evaluate(self, values: Mapping[str, object]):
        """The value of the tree; ``values`` maps each name to a number or an array."""
        names = self.variables()
        missing = [n for n in names if n not in values]
        if missing:
            raise ValueError(f"no value given for {', '.join(missing)}")
        tape = _Tape([self], names)
        return tape.values(_stack_values(values, names))[0]

    def gradient(self, values: Mapping[str, object]) -> dict[str, object]:
        """Exact partial derivatives ∂f/∂v for every name v in the tree (reverse mode)."""
        names = self.variables()
        tape = _Tape([self], names)
        _, jac = tape.values_and_jacobian(_stack_values(values, names))
        return {n: jac[..., 0, j] for j, n in enumerate(names)}

    def __eq__(self, other):
        if not isinstance(other, Expr):
            return NotImplemented
        pairs = [(self, other)]
        while pairs:
            a, b = pairs.pop()
            if a is b:
                continue
            if type(a) is not type(b) or _own_data(a) != _own_data(b):
                return False
            pairs.extend(zip(_children(a), _children(b)))
        return True

    def __hash__(self) -> int:
        # the nodes' data in pre-order fix the tree (each node type has a fixed arity)
        labels, stack = [], [self]
        while stack:
            node = stack.pop()
            labels.append((type(node).__name__, *_own_data(node)))
            stack.extend(reversed(_children(node)))
        return hash(tuple(labels))

    def __repr__(self) -> str:
        return _render(self, _repr_parts)

    def __str__(self) -> str:
        return to_text(self)


@dataclass(frozen=True, eq=False, repr=False)
class Num(Expr):
    value: float = 0.0
    _data = ("value",)


@dataclass(frozen=True, eq=False, repr=False)
class Var(Expr):
    name: str = ""
    _data = ("name",)


@dataclass(frozen=True, eq=False, repr=False)
class Neg(Expr):
    operand: Expr = None
    _subtrees = ("operand",)

    @property
    def precedence(self) -> int:
        return _PRECEDENCE["neg"]


@dataclass(frozen=True, eq=False, repr=False)
class BinOp(Expr):
    op: str = "+"
    left: Expr = None
    right: Expr = None
    _subtrees = ("left", "right")
    _data = ("op",)

    @property
    def precedence(self) -> int:
        return _PRECEDENCE[self.op]


@dataclass(frozen=True, eq=False, repr=False)
class Call(Expr):
    func: str = "sin"
    arg: Expr = None
    _subtrees = ("arg",)
    _data = ("func",)


def _children(node: Expr) -> tuple:
    return tuple(getattr(node, name) for name in node._subtrees)


def _own_data(node: Expr) -> tuple:
    return tuple(getattr(node, name) for name in node._data)


def _postorder(*roots: Expr) -> list[Expr]:
    """Nodes children-first, each distinct node once (iterative: no recursion limit)."""
    order, seen = [], set()
    stack = [(r, False) for r in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in seen:
            continue
        if expanded:
            seen.add(id(node))
            order.append(node)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(_children(node)))
    return order


def _render(root: Expr, parts) -> str:
    """Join the text of a tree; ``parts(node)`` lists its pieces: strings and sub-trees.

    An explicit stack instead of recursion, so a chain of thousands of terms prints in
    time proportional to its length.
    """
    pieces, stack = [], [root]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            pieces.append(item)
        else:
            stack.extend(reversed(parts(item)))
    return "".join(pieces)


def _repr_parts(node) -> list:
    if not isinstance(node, Expr):
        return [repr(node)]
    parts = [f"{type(node).__name__}("]
    for i, f in enumerate(fields(node)):
        value = getattr(node, f.name)
        parts += [", " if i else "", f"{f.name}=", value if isinstance(value, Expr) else repr(value)]
    return parts + [")"]


def _format_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)  # shortest text that reads back as the same float


def _text_parts(node: Expr) -> list:
    """The pieces of ``to_text(node)``, with the fewest parentheses that parse back the same."""
    if isinstance(node, Num):
        return [_format_number(node.value)]
    if isinstance(node, Var):
        return [node.name]
    if isinstance(node, Call):
        return [f"{node.func}(", node.arg, ")"]
    if isinstance(node, Neg):
        # a sign binds looser than ^ and tighter than * : -x^2 is -(x^2), -(a*b) needs ()
        if node.operand.precedence >= _PRECEDENCE["neg"]:
            return ["-", node.operand]
        return ["-(", node.operand, ")"]
    p = node.precedence
    if node.op == "^":
        # the base is a primary; the exponent is parsed as a signed power (right-assoc)
        wrap_left = node.left.precedence < _PRECEDENCE["atom"]
        wrap_right = node.right.precedence < _PRECEDENCE["neg"]
    else:
        wrap_left = node.left.precedence < p
        wrap_right = node.right.precedence <= p  # left-associative: a - (b - c) keeps its ()
    left = ["(", node.left, ")"] if wrap_left else [node.left]
    right = ["(", node.right, ")"] if wrap_right else [node.right]
    return [*left, f" {node.op} ", *right]


def to_text(node: Expr) -> str:
    """Print a tree with the fewest parentheses such that parsing the text gives it back."""
    return _render(node, _text_parts)


def _excerpt(node: Expr, width: int = 60) -> str:
    """``to_text(node)``, cut to about ``width`` characters for a one-line message."""
    text = to_text(node)
    return text if len(text) <= width else text[:width - 1] + "…"


# --------------------------------------------------------------------------------------
# Tokenizer and parser
# --------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)"
    r"|(?P<op>\*\*|[-+*/^()=])"
    r")"
)


@dataclass(frozen=True)
class _Token:
    kind: str  # number, name, op, end
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens, position = [], 0
    stripped_end = len(text.rstrip())
    while position < stripped_end:
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            bad = position + len(text[position:]) - len(text[position:].lstrip())
            raise ParseError(
                f"unexpected character {text[bad]!r}: use numbers, names, + - * / ^ ( ) and =",
                text, bad)
        kind = match.lastgroup
        start = match.start(kind)
        tokens.append(_Token(kind, match.group(kind), start))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


_OPERAND = "a number, a name, a function such as sin(…) or '('"


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.level = 0

    # --- helpers ------------------------------------------------------------------
    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def _describe(self, token: _Token) -> str:
        return "the end of the text" if token.kind == "end" else repr(token.text)

    def error(self, message: str, token: _Token = None) -> ParseError:
        token = token or self.token
        return ParseError(message, self.text, token.position)

    def expect(self, text: str, what: str) -> None:
        if self.token.text != text:
            raise self.error(f"expected {what}, found {self._describe(self.token)}")
        self.index += 1

    def nested(self, token: _Token, parse):
        """``parse()`` one level deeper in nesting, and in the parser's recursion (bounded:
        no RecursionError); ``token`` opened the level.

        Only nesting counts: a chain ``a + b + …`` or ``a·b·…`` is read by a loop and
        stored as a left-deep chain of nodes that every later walk handles with a stack.
        """
        self.level += 1
        if self.level > MAX_DEPTH:
            raise self.error(
                f"expression nested more than {MAX_DEPTH} levels deep (parentheses, functions, "
                "signs or powers); simplify it", token)
        tree = parse()
        self.level -= 1
        return tree

    # --- grammar ------------------------------------------------------------------
    def equation(self) -> tuple[Expr, Expr]:
        lhs = self.expr()
        if self.token.text == "=":
            equals = self.token
            self.index += 1
            if self.token.kind == "end":
                raise self.error(f"expected {_OPERAND} after '=', found the end of the text")
            rhs = self.expr()
            if self.token.text == "=":
                raise self.error("expected one '=' (write one equation per argument), found "
                                 "a second '='")
        else:
            equals, rhs = None, Num(0.0)
        if self.token.kind != "end":
            expected = "an operator (+ - * / ^)" + ("" if equals else ", '='") + " or the end"
            raise self.error(f"expected {expected}, found {self._describe(self.token)}")
        return lhs, rhs

    def expr(self) -> Expr:
        left = self.term()
        while self.token.text in ("+", "-"):
            op = self.token
            self.index += 1
            left = BinOp(op.text, left, self.term())
        return left

    def term(self) -> Expr:
        left = self.unary()
        while True:
            token = self.token
            if token.text in ("*", "/"):
                self.index += 1
                left = BinOp(token.text, left, self.unary())
            elif self._implicit_product(token):
                left = BinOp("*", left, self.power())
            else:
                return left

    def _implicit_product(self, token: _Token) -> bool:
        """``256x``, ``2(x+1)``, ``(x+1)(x-1)``: a number or ')' followed by a name or '('."""
        previous = self.tokens[self.index - 1]
        if not (previous.kind == "number" or previous.text == ")"):
            return False
        if token.kind == "name":
            if previous.kind == "number" and len(token.text) > 1 and token.text not in FUNCTIONS:
                spelled = "*".join(token.text)
                raise self.error(
                    f"ambiguous product {previous.text}{token.text}: write "
                    f"{previous.text}*{spelled} for a product of one-letter unknowns, or "
                    f"{previous.text}*{token.text} if {token.text} is one unknown", token)
            return True
        return token.text == "("

    def unary(self) -> Expr:
        token = self.token
        if token.text in ("-", "+"):
            self.index += 1
            operand = self.nested(token, self.unary)
            return operand if token.text == "+" else Neg(operand)
        return self.power()

    def power(self) -> Expr:
        base = self.primary()
        token = self.token
        if token.text in ("^", "**"):
            self.index += 1
            exponent = self.nested(token, self.unary)
            return BinOp("^", base, exponent)
        return base

    def primary(self) -> Expr:
        token = self.token
        if token.kind == "number":
            self.index += 1
            value = float(token.text)
            if not math.isfinite(value):
                raise self.error(f"number {token.text} is too large for a float", token)
            return Num(value)
        if token.kind == "name":
            self.index += 1
            if self.token.text == "(":
                if token.text not in FUNCTIONS:
                    raise self.error(
                        f"unknown function {token.text!r}: the functions are "
                        f"{', '.join(FUNCTIONS)}; to multiply write {token.text}*(…)", token)
                self.index += 1
                arg = self.nested(token, self.expr)
                self.expect(")", f"')' to close {token.text}(")
                return Call(token.text, arg)
            if token.text in FUNCTIONS:
                raise self.error(f"function {token.text} needs its argument in parentheses: "
                                 f"{token.text}(x)", token)
            return Var(token.text)
        if token.text == "(":
            self.index += 1
            inner = self.nested(token, self.expr)
            self.expect(")", f"')' to close the '(' at column {token.position + 1}")
            return inner
        raise self.error(f"expected {_OPERAND}, found {self._describe(token)}")


def _check_text(text) -> str:
    if not isinstance(text, str):
        raise TypeError(f"an equation must be a string such as '256x + 212y = 1492', "
                        f"got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"equation text is {len(text):,} characters long; the limit is "
                         f"{MAX_LENGTH:,}")
    if not text.strip():
        raise ValueError("the equation is empty; write one such as '256x + 212y = 1492'")
    return text


def parse_expression(text: str) -> Expr:
    """Parse an expression (no '=') into a tree."""
    parser = _Parser(_check_text(text))
    tree = parser.expr()
    if parser.token.kind != "end":
        raise parser.error(f"expected an operator (+ - * / ^) or the end, found "
                           f"{parser._describe(parser.token)}")
    return tree


@dataclass(frozen=True)
class Equation:
    """``lhs = rhs``; its residual is r = lhs − rhs."""

    lhs: Expr
    rhs: Expr
    text: str = field(default="", compare=False)

    def variables(self) -> list[str]:
        return sorted(set(self.lhs.variables()) | set(self.rhs.variables()))

    def __str__(self) -> str:
        return f"{to_text(self.lhs)} = {to_text(self.rhs)}"


def parse_equation(text: str) -> Equation:
    """Parse ``LHS = RHS`` (or a bare expression, meaning ``= 0``)."""
    lhs, rhs = _Parser(_check_text(text)).equation()
    return Equation(lhs, rhs, text)


# --------------------------------------------------------------------------------------
# Evaluation and exact derivatives
# --------------------------------------------------------------------------------------

def _stack_values(values: Mapping[str, object], names: Sequence[str]) -> np.ndarray:
    if not names:
        return np.zeros((0,))
    arrays = np.broadcast_arrays(*[np.asarray(values[n], dtype=np.float64) for n in names])
    return np.stack(arrays, axis=-1)


def _point(theta: np.ndarray, names: Sequence[str], bad: np.ndarray) -> str:
    """'x = -3, y = 2' at the first point where ``bad`` is True."""
    if theta.ndim > 1:
        flat = theta.reshape(-1, theta.shape[-1])
        theta = flat[int(np.argmax(np.broadcast_to(bad, theta.shape[:-1]).reshape(-1)))]
    return ", ".join(f"{n} = {v:.6g}" for n, v in zip(names, theta)) or "every point"


#: what a DomainError names when a value at a point is beyond the float range
_OVERFLOW = f"overflow (a value beyond ±{np.finfo(np.float64).max:.3g})"


def _domain_error(message: str, node: "Expr", point: str,
                  consequence: str = "is undefined") -> DomainError:
    error = DomainError(f"{message} in {_excerpt(node)} at {point}; the equation {consequence} "
                        "there (narrow the search box with a range)")
    error.operation = message
    return error


#: overflow gives ±inf (a diverging run then says so); undefined operations are checked
#: explicitly and raise DomainError, so NumPy's warnings would only repeat them
_OVERFLOW_IS_INF = dict(over="ignore", invalid="ignore", divide="ignore", under="ignore")


class _Tape:
    """The trees of some expressions in evaluation order, with their exact derivatives.

    ``values`` runs the nodes children-first; ``values_and_jacobian`` then runs them
    parents-first, pushing ∂f/∂node down with the chain rule (reverse mode, as in
    micrograd), once per output.  Every operation works elementwise on arrays of points.
    """

    def __init__(self, roots: Sequence[Expr], names: Sequence[str]):
        self.roots = list(roots)
        self.names = list(names)
        self.nodes = _postorder(*self.roots)
        self.slot = {id(n): i for i, n in enumerate(self.nodes)}
        self.column = {n: j for j, n in enumerate(self.names)}
        #: per node: its function or operator with that one's domain rules (None for a
        #: number, a name or a sign), and the slots of its operands; looked up once here
        #: for the many evaluations of a search
        self.operation = [None if isinstance(n, (Num, Var, Neg)) else (
            _OPERATIONS[_operation_name(n)], _DOMAIN_RULES.get(_operation_name(n), ()))
            for n in self.nodes]
        self.operand_slots = [tuple(self.slot[id(c)] for c in _children(n)) for n in self.nodes]
        #: id(node) → True when the node's value does not depend on θ
        self.constant = {}
        for node in self.nodes:  # children first
            self.constant[id(node)] = not isinstance(node, Var) and all(
                self.constant[id(c)] for c in _children(node))

    def _forward(self, theta):
        out = []
        with np.errstate(**_OVERFLOW_IS_INF):
            for i, node in enumerate(self.nodes):
                out.append(self._apply(i, node, out, theta))
        return out

    def values(self, theta) -> list:
        out = self._forward(theta)
        return [out[self.slot[id(r)]] for r in self.roots]

    def point_values(self, theta: np.ndarray) -> list[float]:
        """``values`` at one point θ (shape (n,)), on Python floats.

        The same operations and domain rules (``_OPERATIONS``, ``_DOMAIN_RULES``)
        without NumPy's per-call cost on 0-d arrays: a search that evaluates one guess
        at a time spends its time here.  Functions and powers still go through NumPy's
        ufuncs so that overflow gives inf, as on arrays.
        """
        with np.errstate(**_OVERFLOW_IS_INF):
            return self._point_values([float(v) for v in theta], theta)

    def _point_values(self, point: list, theta: np.ndarray) -> list[float]:
        out: list = []
        for node, operation, slots in zip(self.nodes, self.operation, self.operand_slots):
            if operation is not None:
                function, rules = operation
                operands = [out[k] for k in slots]
                if rules:
                    self._check_domain(node, rules, operands, theta)
                out.append(float(function(*operands)))
            elif isinstance(node, Num):
                out.append(node.value)
            elif isinstance(node, Var):
                out.append(point[self.column[node.name]])
            else:  # a sign
                out.append(-out[slots[0]])
        return [out[self.slot[id(r)]] for r in self.roots]

    def _domain(self, message, bad, theta, node):
        raise _domain_error(message, node, _point(theta, self.names, bad))

    def overflow_error(self, theta: np.ndarray) -> "DomainError":
        """The error for one point θ where a value or a slope is beyond the float range.

        Overflow gives ±inf (and inf − inf gives NaN); at a single point that is a
        place where the equation cannot be computed, reported like an undefined one,
        naming the first operation (children first) whose value is not finite.
        """
        point = _point(theta, self.names, True)
        out = self._forward(theta)
        for node in self.nodes:
            if not np.all(np.isfinite(out[self.slot[id(node)]])):
                return _domain_error(_OVERFLOW, node, point, "cannot be computed")
        error = DomainError(f"{_OVERFLOW} in a slope of the equation at {point}; the equation "
                            "cannot be differentiated there (narrow the search box with a range)")
        error.operation = _OVERFLOW
        return error

    def _apply(self, i, node, out, theta):
        """The value of ``node``, the i-th in evaluation order, on arrays of points."""
        operands = [out[k] for k in self.operand_slots[i]]
        if self.operation[i] is not None:
            function, rules = self.operation[i]
            self._check_domain(node, rules, operands, theta)
            return function(*operands)
        if isinstance(node, Num):
            return np.full(theta.shape[:-1], node.value)
        if isinstance(node, Var):
            return theta[..., self.column[node.name]]
        return -operands[0]  # a sign

    def _check_domain(self, node, rules, operands, theta):
        """Raise the DomainError of the first of ``node``'s domain rules that its operands
        (floats at one point, or arrays) break, naming the first point where they do."""
        for message, undefined in rules:
            bad = undefined(*operands)
            # at one point a bool (is False: the quick common case), on arrays an array
            if bad is not False and (bad.any() if isinstance(bad, np.ndarray) else bad):
                self._domain(message, bad, theta, node)

    def values_and_jacobian(self, theta):
        """Values of the roots, shape (..., m), and ∂root_i/∂θ_j, shape (..., m, n)."""
        with np.errstate(**_OVERFLOW_IS_INF):
            return self._values_and_jacobian(theta)

    def _values_and_jacobian(self, theta):
        out = self._forward(theta)
        shape = theta.shape[:-1]
        values = np.stack([np.broadcast_to(out[self.slot[id(r)]], shape) for r in self.roots],
                          axis=-1)
        jac = np.zeros(shape + (len(self.roots), len(self.names)))
        for i, root in enumerate(self.roots):
            adjoint = {id(root): np.ones(shape)}
            # only the nodes under this root: a system of m equations costs m passes over
            # one equation each, not m passes over all of them (which grew as m²)
            for node in reversed(self._subtree(i)):
                g = adjoint.pop(id(node), None)
                if g is None:
                    continue
                if isinstance(node, Var):
                    jac[..., i, self.column[node.name]] += g
                if isinstance(node, (Var, Num)):
                    continue
                for child, partial in zip(_children(node), self._partials(node, out, theta)):
                    contribution = g * partial
                    key = id(child)
                    adjoint[key] = adjoint[key] + contribution if key in adjoint else contribution
        return values, jac

    def _subtree(self, i) -> list:
        """The nodes of the i-th root's tree, children first (computed once, on first use)."""
        if getattr(self, "_subtrees", None) is None:
            self._subtrees = [[self.nodes[k] for k in sorted({self.slot[id(n)] for n in _postorder(r)})]
                              for r in self.roots]
        return self._subtrees[i]

    def _partials(self, node, out, theta):
        """∂node/∂child for each child, at the forward values ``out``."""
        if isinstance(node, Neg):
            return (-1.0,)
        if isinstance(node, Call):
            u = out[self.slot[id(node.arg)]]
            f = out[self.slot[id(node)]]
            if node.func == "sqrt" and np.any(u == 0):
                self._domain("the slope of sqrt at 0 is infinite", u == 0, theta, node)
            return ({
                "sin": lambda: np.cos(u),
                "cos": lambda: -np.sin(u),
                "tan": lambda: 1.0 + f * f,
                "exp": lambda: f,
                "log": lambda: 1.0 / u,
                "sqrt": lambda: 0.5 / f,
                "abs": lambda: np.sign(u),
            }[node.func](),)
        a, b = (out[self.slot[id(c)]] for c in (node.left, node.right))
        if node.op in "+-":
            return (1.0, 1.0 if node.op == "+" else -1.0)
        if node.op == "*":
            return (b, a)
        if node.op == "/":
            return (1.0 / b, -a / (b * b))
        # u^v: ∂/∂u = v·u^(v−1) (0 when v = 0);  ∂/∂v = u^v·ln u, only when v depends on θ
        steep = (a == 0) & (b > 0) & (b < 1)
        if np.any(steep):
            self._domain("the slope of u^v is infinite at u = 0 for 0 < v < 1", steep, theta, node)
        with np.errstate(divide="ignore", invalid="ignore"):
            d_base = np.where(b == 0, 0.0, b * np.power(a, b - 1.0))
        if self.constant[id(node.right)]:
            return (d_base, 0.0)
        if np.any(a < 0):
            self._domain("the slope of a negative number to a variable power is undefined",
                         a < 0, theta, node)
        f = out[self.slot[id(node)]]
        with np.errstate(divide="ignore", invalid="ignore"):
            d_exponent = np.where(a > 0, f * np.log(np.where(a > 0, a, 1.0)), 0.0)
        return (d_base, d_exponent)


def _half_sum_of_squares(values) -> float:
    """½·Σ rᵢ², summed in the same order by ``loss`` and ``loss_and_grad``."""
    return 0.5 * sum(v * v for v in values)


def losses_of_residuals(r) -> np.ndarray:
    """J = ½·Σ rᵢ² along the last axis of residuals r (..., m); beyond the float range, inf."""
    with np.errstate(over="ignore"):
        return 0.5 * np.sum(r * r, axis=-1)


def _check_constant_parts(tape: "_Tape") -> None:
    """Evaluate each largest part without unknowns once: ``1/0`` is undefined everywhere."""
    constant = tape.constant
    parents = {id(c): node for node in tape.nodes for c in _children(node)}
    for node in tape.nodes:
        parent = parents.get(id(node))
        if constant[id(node)] and not isinstance(node, Num) and (
                parent is None or not constant[id(parent)]):
            try:
                _Tape([node], []).values(np.zeros((0,)))
            except DomainError as error:
                raise DomainError(
                    f"{error.operation} in {to_text(node)}, which does not depend on the "
                    "unknowns: the equation is undefined for every value of them; fix the "
                    "equation") from None


def _is_affine(tape: "_Tape") -> bool:
    """True when every root of the tape is a + Σ cᵢ·θᵢ for constants a, cᵢ (from its shape).

    Over the tape's nodes, children first, so a chain of any length is fine; whether a
    node depends on the unknowns at all is the tape's ``constant``.
    """
    constant, affine = tape.constant, {}
    for node in tape.nodes:
        if constant[id(node)] or isinstance(node, Var):
            affine[id(node)] = True
        elif isinstance(node, Neg):
            affine[id(node)] = affine[id(node.operand)]
        elif isinstance(node, BinOp):
            left_affine, right_affine = affine[id(node.left)], affine[id(node.right)]
            left_constant, right_constant = constant[id(node.left)], constant[id(node.right)]
            if node.op in "+-":
                affine[id(node)] = left_affine and right_affine
            elif node.op == "*":
                affine[id(node)] = (left_constant and right_affine) or (
                    right_constant and left_affine)
            elif node.op == "/":
                affine[id(node)] = right_constant and left_affine
            else:  # u^1 is u; any other power of the unknowns is not affine
                affine[id(node)] = (isinstance(node.right, Num) and node.right.value == 1.0
                                    and left_affine)
        else:  # a function of the unknowns
            affine[id(node)] = False
    return all(affine[id(root)] for root in tape.roots)


# --------------------------------------------------------------------------------------
# The objective
# --------------------------------------------------------------------------------------

EquationLike = Union[str, Equation]


class EquationObjective(Objective):
    """One equation or a system, as an objective over θ = the unknowns (sorted by name).

        rᵢ(θ) = LHSᵢ(θ) − RHSᵢ(θ),   J(θ) = ½·Σᵢ rᵢ(θ)²,   ∇J(θ) = Dᵀ·r,  D_ij = ∂rᵢ/∂θⱼ

    For one equation ∇J = r·∇r.  ``residuals`` and ``jacobian`` are exact (the
    derivatives come from the parsed tree, not from finite differences) and work on
    one point θ (shape (n,)) or on many (shape (..., n)).  An operation that is
    undefined at θ (log of a number ≤ 0, division by zero, √ of a negative) raises
    :class:`DomainError` naming the operation and θ.

    Capabilities: ``GRADIENT``, ``RESIDUALS`` and ``MANY_POINTS``.
    """

    capabilities = frozenset({GRADIENT, RESIDUALS, MANY_POINTS})

    def __init__(self, equations: Union[EquationLike, Iterable[EquationLike]]):
        if isinstance(equations, (str, Equation)):
            equations = [equations]
        parsed = [e if isinstance(e, Equation) else parse_equation(e) for e in equations]
        if not parsed:
            raise ValueError("no equation given; pass one such as '256x + 212y = 1492'")
        self.equations = parsed
        names = sorted({v for e in parsed for v in e.variables()})
        if not names:
            raise ValueError(
                f"{parsed[0].text or parsed[0]!s} has no unknowns to solve for; write an "
                "equation with a name in it, such as '2x = 3'")
        self.param_names = names
        self.n_params = len(names)
        self.n_equations = len(parsed)
        self._tape = _Tape([BinOp("-", e.lhs, e.rhs) for e in parsed], names)
        _check_constant_parts(self._tape)
        self.is_linear = _is_affine(self._tape)

    def _theta(self, theta) -> np.ndarray:
        theta = np.asarray(theta, dtype=np.float64)
        if theta.ndim == 0 or theta.shape[-1] != self.n_params:
            raise ValueError(f"θ must end with {self.n_params} numbers "
                             f"({', '.join(self.param_names)}), got shape {theta.shape}")
        return theta

    def _point_residuals(self, theta: np.ndarray) -> list[float]:
        """r at one point θ; a value beyond the float range there is a DomainError."""
        r = self._tape.point_values(theta)
        if not all(map(math.isfinite, r)):
            raise self._tape.overflow_error(theta)
        return r

    def residuals(self, theta) -> np.ndarray:
        """r(θ) = LHS − RHS for every equation: shape (..., m).

        At one point θ an overflow raises :class:`DomainError`; on many points (a grid
        for a contour plot) it gives ±inf or NaN at those points.
        """
        theta = self._theta(theta)
        if theta.ndim == 1:
            return np.array(self._point_residuals(theta))
        shape = theta.shape[:-1]
        return np.stack([np.broadcast_to(v, shape) for v in self._tape.values(theta)], axis=-1)

    def residuals_and_jacobian(self, theta) -> tuple[np.ndarray, np.ndarray]:
        """r(θ), shape (..., m), and the Jacobian ∂rᵢ/∂θⱼ, shape (..., m, n).

        At one point θ, a residual or a slope beyond the float range raises
        :class:`DomainError`, as ``residuals`` does.
        """
        theta = self._theta(theta)
        r, jac = self._tape.values_and_jacobian(theta)
        if theta.ndim == 1 and not (np.all(np.isfinite(r)) and np.all(np.isfinite(jac))):
            raise self._tape.overflow_error(theta)
        return r, jac

    def jacobian(self, theta) -> np.ndarray:
        return self.residuals_and_jacobian(theta)[1]

    def loss(self, theta) -> float:
        if np.ndim(theta) != 1:
            raise ValueError(f"loss takes one point θ of {self.n_params} numbers; use losses() "
                             "for many points")
        return _half_sum_of_squares(self._point_residuals(self._theta(theta)))

    def losses(self, theta) -> np.ndarray:
        """J at many points at once, shape (...,) for θ of shape (..., n) (e.g. a grid)."""
        return losses_of_residuals(self.residuals(theta))

    def loss_and_grad(self, theta) -> tuple[float, np.ndarray]:
        r, jac = self.residuals_and_jacobian(theta)
        with np.errstate(over="ignore"):  # finite r and D, yet Dᵀr beyond the float range: inf
            return _half_sum_of_squares(r.tolist()), jac.T @ r

    def linear_system(self) -> tuple[np.ndarray, np.ndarray]:
        """For linear equations, (A, c) with r(θ) = A·θ − c."""
        if not self.is_linear:
            raise ValueError("the equations are not linear in the unknowns")
        r0, jac = self.residuals_and_jacobian(np.zeros(self.n_params))
        return jac, -r0

    def __repr__(self) -> str:
        return f"EquationObjective({[str(e) for e in self.equations]!r})"


def _uniform_sum_probability(widths: list[float], low: float, high: float,
                             span: float) -> float:
    """P(low ≤ S ≤ high) for S = U₁ + … + U_k, Uᵢ uniform on [0, wᵢ], all wᵢ > 0.

    The CDF of such a sum is F(s) = Σ_K (−1)^|K| (s − Σ_{i∈K} wᵢ)₊^k / (k!·Πwᵢ) over
    all subsets K; F is 0 below 0 and 1 above Σwᵢ, so the interval is first cut to
    that support.  The difference F(high) − F(low) is taken term by term, using
    A^k − B^k = (A − B)·Σ_j A^(k−1−j)·B^j with A − B = ``span`` (high − low, given
    without cancellation) so that a narrow slab loses no precision.  The caller
    scales the wᵢ to order 1, so no power or product leaves the float range.
    """
    support = sum(widths)
    if high <= 0.0 or low >= support:
        return 0.0
    # low and high may round to one float when the slab is narrow: span keeps its width
    cut_low, cut_high = max(low, 0.0), min(high, support)
    if (cut_low, cut_high) != (low, high):
        span = cut_high - cut_low
    product = math.prod(widths)
    if product == 0.0:
        # widths below float precision of the largest move S by less than its rounding:
        # treat those Uᵢ as 0 rather than divide by an underflowed Πwᵢ
        largest = max(widths)
        widths = [w for w in widths if w > largest * np.finfo(np.float64).eps]
        product = math.prod(widths)
    k = len(widths)
    total = 0.0
    for mask in range(1 << k):
        chosen = [widths[i] for i in range(k) if mask >> i & 1]
        shift = sum(chosen)
        a, b = max(cut_high - shift, 0.0), max(cut_low - shift, 0.0)
        if a == 0.0:
            continue
        gap = span if b > 0.0 else a  # A − B without cancellation
        power_difference = gap * sum(a ** (k - 1 - j) * b ** j for j in range(k))
        total += (-1) ** len(chosen) * power_difference
    return min(max(total / (math.factorial(k) * product), 0.0), 1.0)


def expected_guesses(objective: EquationObjective, low, high, tol: float) -> float:
    """Expected number of uniform guesses in the box until |r| ≤ tol, for one linear equation.

    With r(θ) = a·θ − c and θ uniform in the box Πᵢ[lowᵢ, highᵢ], a guess lands in
    the slab |a·θ − c| ≤ tol with probability

        p = P(c − tol ≤ a·θ ≤ c + tol),   a·θ = Σᵢ aᵢθᵢ, a sum of independent uniforms
        (aᵢθᵢ is uniform on an interval of width |aᵢ|·(highᵢ − lowᵢ)),

    computed exactly from the CDF of a sum of uniforms.  The guesses are independent,
    so the count until the first hit is geometric: expected count = 1/p (inf if p = 0).
    p does not change when a and θ are rescaled, so it is computed with a/max|aᵢ| and
    θ/max|θᵢ|: any box whose width is finite works, from 1e-300 to 1e300 wide.
    """
    if objective.n_equations != 1 or not objective.is_linear:
        raise ValueError("the expected number of guesses is derived for one linear equation")
    A, c = objective.linear_system()
    a = A[0]
    low = np.broadcast_to(np.asarray(low, dtype=np.float64), a.shape)
    high = np.broadcast_to(np.asarray(high, dtype=np.float64), a.shape)
    used = (a != 0) & (high > low)
    if not np.any(used):
        return 1.0 if abs(c[0]) <= tol else math.inf
    if used.sum() > MAX_EXACT_UNKNOWNS:
        raise ValueError(f"the exact expected count is computed for at most "
                         f"{MAX_EXACT_UNKNOWNS} unknowns")
    a, low, high = a[used], low[used], high[used]
    a_scale = float(np.max(np.abs(a)))
    theta_scale = float(max(np.max(np.abs(low)), np.max(np.abs(high))))
    a, low, high = a / a_scale, low / theta_scale, high / theta_scale
    widths = (np.abs(a) * (high - low)).tolist()
    base = float(np.sum(np.minimum(a * low, a * high)))
    # the slab in the scaled units, relative to the lowest value of a·θ in the box; on
    # Python floats, values beyond the float range become ±inf quietly and the cut to
    # the box's reach handles them
    c, tol = float(c[0]), float(tol)

    def scaled(value: float) -> float:
        return value / a_scale / theta_scale

    p = _uniform_sum_probability(widths, scaled(c - tol) - base, scaled(c + tol) - base,
                                 scaled(2.0 * tol))
    return 1.0 / p if p > 0 else math.inf
