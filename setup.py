"""Build script: everything is declared in pyproject.toml; this file only adds the optional
native proof-of-work extension (see consensus/nonce_search.py)."""

from setuptools import setup

setup()
