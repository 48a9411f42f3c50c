"""Fixture module; see its docstring once written."""
