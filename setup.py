"""Packaging glue that pyproject.toml cannot express: the cffi shim and the simulator package.

The simulated span lives in tests/fake_span/ (it is test infrastructure first), but `confcall
demo`, `span status --sim` and the load benchmark drive the same simulator, so it is installed
as ``confcall.sim``. Only those paths import it: `confcall serve` on a real card never does.
"""
from setuptools import find_packages, setup

packages = find_packages(include=["confcall", "confcall.*"])
packages += ["confcall.sim"] + [f"confcall.sim.{p}" for p in find_packages("tests/fake_span")]

setup(
    packages=packages,
    package_dir={"confcall.sim": "tests/fake_span"},
    package_data={"confcall": ["prompts/**/*", "migrations/**/*", "alembic.ini",
                               "billing/radius/dictionary*", "service/*.service"],
                  "confcall.web": ["templates/*.html", "static/*"]},
    cffi_modules=["native/build_shim.py:ffibuilder"],
)
