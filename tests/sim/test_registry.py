"""The shared registry: duplicates refused, unknown names listed."""
import pytest

from sim.registry import Registry, UnknownNameError


def test_registry_refuses_duplicates_and_lists_known_names():
    reg = Registry("widget")
    reg.add("b", 2)
    reg.add("a", 1)
    assert reg.get("a") == 1 and reg.names() == ["a", "b"]
    with pytest.raises(ValueError, match="widget 'a' is already registered"):
        reg.add("a", 3)
    with pytest.raises(ValueError, match="has no name"):
        reg.add("", 4)
    with pytest.raises(UnknownNameError, match=r"unknown widget 'c'; known: \['a', 'b'\]") as err:
        reg.get("c")
    assert isinstance(err.value, KeyError) and isinstance(err.value, ValueError)


def test_decorator_registers_by_attribute():
    reg = Registry("thing")
    register = reg.decorator("kind")

    @register
    class Box:
        kind = "box"

    assert reg.get("box") is Box
    with pytest.raises(ValueError, match="already registered"):
        register(type("Other", (), {"kind": "box"}))
