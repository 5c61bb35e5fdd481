"""ScenarioError, the value checks schema classes run in ``__post_init__``, and ``Record``: a frozen
dataclass read from and written to a plain dict. Every check names the document path it failed at."""
from __future__ import annotations

import dataclasses
import math
import numbers
import re
import reprlib
from typing import Any, Callable, ClassVar

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 2, 6, 6, 4

MAX_SPEED_MPS = 100.0
"""Largest speed any scenario value may take, m/s."""
MAX_COORD_M = 1e6
"""Largest |x| or |y| of a position, m."""
ANGLE_LIMIT = 2 * math.pi
"""Headings lie within [-ANGLE_LIMIT, ANGLE_LIMIT], rad."""


class ScenarioError(ValueError):
    """An invalid scenario: ``file`` it came from and ``path`` in the document (each may be "")."""

    def __init__(self, message: str, path: str = "", file: str = ""):
        super().__init__(message, path, file)
        self.message, self.path, self.file = message, path, file

    def __str__(self) -> str:
        return ": ".join(part for part in (self.file, self.path, self.message) if part)

    def within(self, prefix: str) -> "ScenarioError":
        """The same error with its path below ``prefix``."""
        return ScenarioError(self.message, join(prefix, self.path), self.file)

    def in_file(self, file) -> "ScenarioError":
        return ScenarioError(self.message, self.path, str(file))


def join(prefix: str, path: str) -> str:
    """Document path ``prefix`` followed by ``path`` ("a" + "b" -> "a.b", "a" + "[1]" -> "a[1]")."""
    if not prefix or not path:
        return prefix or path
    return prefix + path if path.startswith("[") else f"{prefix}.{path}"


def show(value) -> str:
    """A short repr of any value (bounded for huge or recursive ones)."""
    return _REPR.repr(value)


def number(value, path: str, lo: float = -math.inf, hi: float = math.inf, unit: str = "",
           lo_open: bool = False) -> float:
    """``value`` as a float: a finite real in [lo, hi] (``(lo, hi]`` with lo_open)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    try:
        v = float(value) if ok else math.nan
    except OverflowError:
        v = math.nan
    if not (math.isfinite(v) and lo <= v <= hi and not (lo_open and v == lo)):
        if math.isfinite(lo) and math.isfinite(hi):
            where = f" in {'(' if lo_open else '['}{lo:g}, {hi:g}]"
        elif math.isfinite(lo):
            where = f" {'>' if lo_open else '>='} {lo:g}"
        else:
            where = f" <= {hi:g}" if math.isfinite(hi) else " (finite)"
        raise ScenarioError(f"expected a number{where}{f' ({unit})' if unit else ''}, got {show(value)}", path)
    return v


def integer(value, path: str, lo: int = 0, hi: int = 2**63 - 1) -> int:
    """``value`` as an int in [lo, hi] (no bools, no floats)."""
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and lo <= value <= hi):
        raise ScenarioError(f"expected an integer in [{lo}, {hi}], got {show(value)}", path)
    return int(value)


def text(value, path: str, pattern: str | None = None) -> str:
    """``value`` as a str, fully matching ``pattern`` when given."""
    if not isinstance(value, str) or (pattern is not None and not re.fullmatch(pattern, value)):
        raise ScenarioError(f"expected a string{f' matching {pattern}' if pattern else ''}, got {show(value)}", path)
    return value


def flag(value, path: str) -> bool:
    if not isinstance(value, bool):
        raise ScenarioError(f"expected true or false, got {show(value)}", path)
    return value


def choice(value, path: str, options) -> str:
    if not isinstance(value, str) or value not in options:
        raise ScenarioError(f"expected one of {list(options)}, got {show(value)}", path)
    return value


def sequence(value, path: str, min_len: int = 0) -> list | tuple:
    if not isinstance(value, (list, tuple)) or len(value) < min_len:
        raise ScenarioError(f"expected a list{f' of at least {min_len}' if min_len else ''}, got {show(value)}", path)
    return value


def numbers_(value, path: str, lo: float = -math.inf, hi: float = math.inf, unit: str = "",
             min_len: int = 1) -> tuple[float, ...]:
    """A non-empty list of numbers in [lo, hi] as a tuple of floats; an element's error names its index."""
    return tuple(number(x, f"{path}[{i}]", lo, hi, unit) for i, x in enumerate(sequence(value, path, min_len)))


def instance(value, path: str, cls, what: str | None = None):
    if not isinstance(value, cls):
        raise ScenarioError(f"expected {what or cls.__name__}, got {show(value)}", path)
    return value


def mapping(value, path: str, known, required=()) -> dict:
    """``value`` as a dict with str keys among ``known``, holding every key of ``required``."""
    if not isinstance(value, dict):
        raise ScenarioError(f"expected a mapping with fields {list(known)}, got {show(value)}", path)
    for key in value:
        if not isinstance(key, str):
            raise ScenarioError(f"field names must be strings, got {show(key)}", path)
        if key not in known:
            raise ScenarioError(f"unknown field; known: {list(known)}", join(path, key))
    for key in required:
        if key not in value:
            raise ScenarioError("required field missing", join(path, key))
    return value


def tuple_of(parse: Callable[[Any, str], Any]) -> Callable[[Any, str], tuple]:
    """Parser of a list whose items ``parse(item, path)`` reads."""
    return lambda value, path: tuple(parse(x, f"{path}[{i}]") for i, x in enumerate(sequence(value, path)))


def settle(obj, name: str, value) -> None:
    """Store a normalised value on a frozen dataclass during ``__post_init__``."""
    object.__setattr__(obj, name, value)


class Record:
    """Mixin of frozen dataclasses read from a dict by ``from_dict`` and written by ``to_dict``.

    ``KEYS`` maps a field to its document key when they differ; ``PARSE`` maps a field to the
    parser ``(value, path) -> object`` of its nested document. Leaf values are checked by the
    dataclass's own ``__post_init__``; None-valued fields are left out of ``to_dict``.
    """

    KEYS: ClassVar[dict[str, str]] = {}
    PARSE: ClassVar[dict[str, Callable[[Any, str], Any]]] = {}

    @classmethod
    def from_dict(cls, value, path: str = ""):
        fields = {cls.KEYS.get(f.name, f.name): f for f in dataclasses.fields(cls)}
        required = [k for k, f in fields.items()
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        kwargs = {}
        for key, v in mapping(value, path, fields, required).items():
            name = fields[key].name
            kwargs[name] = cls.PARSE[name](v, join(path, key)) if name in cls.PARSE else v
        try:
            return cls(**kwargs)
        except ScenarioError as e:
            raise e.within(path) from None

    def to_dict(self) -> dict:
        return {self.KEYS.get(f.name, f.name): plain(getattr(self, f.name))
                for f in dataclasses.fields(self) if getattr(self, f.name) is not None}


class Kinded(Record):
    """A Record chosen by a ``kind`` key among the classes of a registry (behaviours, events)."""

    kind: ClassVar[str]

    def to_dict(self) -> dict:
        return {"kind": self.kind, **super().to_dict()}


def kinded_from_dict(registry, value, path: str):
    """The ``registry`` class a ``{kind: ..., <fields>}`` mapping names, built from the other fields."""
    kinds = registry.names()
    if not isinstance(value, dict) or "kind" not in value:
        raise ScenarioError(f"expected a mapping with a kind (one of {kinds}), got {show(value)}", path)
    cls = registry.get(choice(value["kind"], join(path, "kind"), kinds))
    return cls.from_dict({k: v for k, v in value.items() if k != "kind"}, path)


def plain(value):
    """Records and specs as dicts, tuples as lists, everything else as is."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    return value


def spec_from_dict(cls, value, path: str):
    """A foreign config dataclass (WorldSpec, TrafficSpec) from a dict of some of its fields.

    Types are checked against each field's default (int, number, non-empty list of numbers; ints
    stay ints) before construction; the class's own ``ValueError("Cls.field: ...")`` becomes a
    ScenarioError at that field."""
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, v in mapping(value, path, defaults).items():
        where, default = join(path, key), defaults[key]
        if isinstance(default, tuple):
            items = sequence(v, where, 1)
            for i, x in enumerate(items):
                number(x, f"{where}[{i}]")
            kwargs[key] = tuple(items)
        elif isinstance(default, int):
            kwargs[key] = integer(v, where, -(2**63), 2**63 - 1)
        else:
            number(v, where)
            kwargs[key] = v
    try:
        return cls(**kwargs)
    except ValueError as e:
        head, _, message = str(e).partition(": ")
        field = head.removeprefix(f"{cls.__name__}.")
        if field in defaults and message:
            raise ScenarioError(message, join(path, field)) from None
        raise ScenarioError(str(e), path) from None


def spec_to_dict(spec) -> dict:
    return {f.name: plain(getattr(spec, f.name)) for f in dataclasses.fields(spec)}
