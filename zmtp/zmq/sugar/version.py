"""Alias of zmtp.zmq.version under pyzmq's module path."""

from zmtp.zmq.version import pyzmq_version, pyzmq_version_info, zmq_version, zmq_version_info

__all__ = ["pyzmq_version", "pyzmq_version_info", "zmq_version", "zmq_version_info"]
