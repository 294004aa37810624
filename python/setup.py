"""Build of the floe Python package: compiles libfloe with CMake (the
repository one level up; CMakeLists.txt makes it position-independent) and
links the CPython extension floe._floe against it, using only the limited
API (abi3, CPython 3.9+). The system libraries libfloe needs come from the
Debian -dev packages through pkg-config, as for the floe binary.

Environment:
  FLOE_BUILD_DIR  CMake build directory to build libfloe in (default:
                  <repo>/build-python); `make wheel` passes the main
                  build folder, so libfloe is compiled once.
  JOBS            parallel compile jobs (default 2).
"""
import os
import shlex
import subprocess
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PKG_CONFIG_MODULES = ["libzstd", "zlib", "liblz4", "jansson", "yaml-0.1", "sqlite3",
                      "libpq", "libcurl", "libcrypto"]


def pkg_config(*args):
    out = subprocess.check_output(["pkg-config", *args, *PKG_CONFIG_MODULES], text=True)
    return shlex.split(out)


class BuildWithLibfloe(build_ext):
    def run(self):
        if not (ROOT / "include" / "floe.h").exists():
            raise SystemExit("floe: build from the floe repository (pip install ./python): "
                             f"{ROOT}/include/floe.h not found")
        build_dir = Path(os.environ.get("FLOE_BUILD_DIR", ROOT / "build-python")).resolve()
        jobs = os.environ.get("JOBS", "2")
        subprocess.check_call(["cmake", "-S", str(ROOT), "-B", str(build_dir),
                               "-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
                              stdout=subprocess.DEVNULL)
        subprocess.check_call(["cmake", "--build", str(build_dir), "--target", "floelib",
                               "-j", jobs])
        libs = pkg_config("--libs")
        for ext in self.extensions:
            ext.include_dirs.append(str(ROOT / "include"))
            ext.extra_objects = [str(build_dir / "libfloe.a")]
            ext.extra_link_args = libs + ["-lsnappy", "-lm"]
            ext.depends = [str(build_dir / "libfloe.a")]
        super().run()


setup(
    ext_modules=[Extension("floe._floe", ["floe/_floe.c"], py_limited_api=True,
                           define_macros=[("Py_LIMITED_API", "0x03090000")],
                           extra_compile_args=["-std=c11", "-D_GNU_SOURCE", "-Wall",
                                               "-Wextra", "-Werror",
                                               "-Wno-missing-field-initializers",
                                               "-Wno-cast-function-type"])],
    cmdclass={"build_ext": BuildWithLibfloe},
    options={"bdist_wheel": {"py_limited_api": "cp39"}},
)
