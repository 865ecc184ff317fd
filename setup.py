"""Packaging glue that pyproject.toml cannot express: the cffi shim and the simulator package.

`fake_span` lives in tests/fake_span/ (it is test infrastructure first) but `confcall demo` and
the load benchmark drive the same simulator, so it is installed as a top-level package.
"""
from setuptools import find_packages, setup

packages = find_packages(include=["confcall", "confcall.*"])
packages += ["fake_span"] + [f"fake_span.{p}" for p in find_packages("tests/fake_span")]

setup(
    packages=packages,
    package_dir={"fake_span": "tests/fake_span"},
    package_data={"confcall": ["prompts/**/*", "migrations/**/*", "alembic.ini"]},
    cffi_modules=["native/build_shim.py:ffibuilder"],
)
