"""Build glue for the one compiled module (the rest is in pyproject.toml).

``sfu._rtp_send`` (sfu/_rtp_send.c) is optional: without a C compiler the
install still succeeds and the SFU sends from Python (sfu/native_send.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "sfu._rtp_send",
            sources=["sfu/_rtp_send.c"],
            extra_compile_args=["-O2", "-Wall"],
            optional=True,
        )
    ]
)
