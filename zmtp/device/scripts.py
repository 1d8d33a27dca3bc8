"""Console-script entry points: one function per device executable (``zmtp-<name>``)."""

from __future__ import annotations

import os
import sys

from .examples import load_device
from .runner import ignore_late_signals, main


def run(name: str) -> None:
    """Run the device ``name`` with ``sys.argv`` and exit with its code."""
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else f"zmtp-{name}"
    code = main(load_device(name), prog=prog)
    ignore_late_signals()
    sys.exit(code)


def ex_1_1_sampler() -> None:
    run("ex-1-1-sampler")


def ex_1_1_sink() -> None:
    run("ex-1-1-sink")


def ex_1_n_1_sampler() -> None:
    run("ex-1-n-1-sampler")


def ex_1_n_1_processor() -> None:
    run("ex-1-n-1-processor")


def ex_1_n_1_sink() -> None:
    run("ex-1-n-1-sink")


def ex_multipart_sampler() -> None:
    run("ex-multipart-sampler")


def ex_multipart_sink() -> None:
    run("ex-multipart-sink")


def ex_copypush_sampler() -> None:
    run("ex-copypush-sampler")


def ex_copypush_sink() -> None:
    run("ex-copypush-sink")


def ex_req_rep_client() -> None:
    run("ex-req-rep-client")


def ex_req_rep_server() -> None:
    run("ex-req-rep-server")


def ex_multiple_channels_sampler() -> None:
    run("ex-multiple-channels-sampler")


def ex_multiple_channels_broadcaster() -> None:
    run("ex-multiple-channels-broadcaster")


def ex_multiple_channels_sink() -> None:
    run("ex-multiple-channels-sink")


def ex_n_m_synchronizer() -> None:
    run("ex-n-m-synchronizer")


def ex_n_m_sender() -> None:
    run("ex-n-m-sender")


def ex_n_m_receiver() -> None:
    run("ex-n-m-receiver")


def bsampler() -> None:
    run("bsampler")


def sink() -> None:
    run("sink")


def splitter() -> None:
    run("splitter")


def merger() -> None:
    run("merger")


def proxy() -> None:
    run("proxy")


def multiplier() -> None:
    run("multiplier")
