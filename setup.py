"""Build script: everything is declared in pyproject.toml; this file only adds the optional
native proof-of-work extension ``consensus._sha256d_native`` (see consensus/nonce_search.py
and docs/pow-engine.md).

The extension is optional: if it cannot be compiled (no C compiler, no Python headers, an
exotic platform) the build prints one warning and the installation goes on; Seedchain then
mines with the pure-``hashlib`` backend. ``SEEDCHAIN_NO_NATIVE=1`` skips the build entirely.
The SIMD code paths are compiled per function (``__attribute__((target(...)))``) and picked
at run time by CPUID, so no ``-m`` flag is passed and the module runs on any x86-64 CPU.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

NATIVE_DIR = os.path.join("consensus", "_native")
NATIVE_SOURCES = [
    os.path.join(NATIVE_DIR, name)
    for name in (
        "sha256d_module.c",
        "sha256d_portable.c",
        "sha256d_shani.c",
        "sha256d_avx512.c",
    )
]


def _native_wanted() -> bool:
    return os.environ.get("SEEDCHAIN_NO_NATIVE", "").strip().lower() not in {"1", "true", "yes"}


class OptionalBuildExt(build_ext):
    """build_ext that turns a failed compile into one warning instead of a failed install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # a missing compiler surfaces here on some platforms
            self._warn(exc)

    def build_extension(self, ext: Any) -> None:
        if self.compiler.compiler_type == "msvc":
            ext.extra_compile_args = ["/O2"]
        else:
            ext.extra_compile_args = ["-O3"]
        try:
            super().build_extension(ext)
        except Exception as exc:  # CompileError, LinkError, PlatformError, OSError...
            self._warn(exc)

    @staticmethod
    def _warn(exc: BaseException) -> None:
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        print(
            "WARNING: seedchain: the native proof-of-work extension could not be built "
            f"({message}); installing without it. Mining will use the much slower pure-Python "
            "hashlib backend. Install a C compiler and the Python headers, then reinstall, "
            "to get it.",
            file=sys.stderr,
        )


ext_modules = []
if _native_wanted():
    ext_modules.append(
        Extension(
            "consensus._sha256d_native",
            sources=NATIVE_SOURCES,
            depends=[os.path.join(NATIVE_DIR, "sha256d.h")],
        )
    )

setup(ext_modules=ext_modules, cmdclass={"build_ext": OptionalBuildExt})
