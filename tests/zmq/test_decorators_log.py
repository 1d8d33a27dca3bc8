"""zmq.decorators and zmq.log.handlers on pyzmq and zmtp.zmq."""

from __future__ import annotations

import logging
from importlib import import_module
from types import ModuleType
from typing import Any

import pytest
from zmq_face_util import MODULES, configure, sync_pubsub


@pytest.fixture(params=MODULES)
def zmq(request: pytest.FixtureRequest) -> ModuleType:
    module: ModuleType = request.param
    return module


def test_context_and_socket_decorators(zmq: ModuleType) -> None:
    decorators = import_module(zmq.__name__ + ".decorators")
    seen: dict[str, Any] = {}

    @decorators.context()
    @decorators.socket(zmq.PUSH)
    @decorators.socket("pull", zmq.PULL)
    def work(tag: str, ctx: Any, push: Any, pull: Any) -> str:
        assert push.context is ctx and pull.context is ctx
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        push.connect(f"tcp://127.0.0.1:{port}")
        push.send(tag.encode())
        pull.rcvtimeo = 5000
        seen.update(ctx=ctx, push=push, pull=pull)
        return str(pull.recv().decode())

    assert work("hello") == "hello"
    assert seen["push"].closed and seen["pull"].closed
    assert work("again") == "again"  # a fresh context and sockets per call


def test_socket_decorator_requires_a_type(zmq: ModuleType) -> None:
    decorators = import_module(zmq.__name__ + ".decorators")

    @decorators.socket("only_a_name")
    def f(only_a_name: Any) -> None:
        raise AssertionError("not reached")

    with pytest.raises(TypeError):
        f()


def test_pub_handler_topics_and_formats(zmq: ModuleType) -> None:
    handlers = import_module(zmq.__name__ + ".log.handlers")
    ctx = zmq.Context()
    try:
        pub = configure(ctx.socket(zmq.PUB))
        sub = configure(ctx.socket(zmq.SUB))
        port = pub.bind_to_random_port("tcp://127.0.0.1")
        sub.connect(f"tcp://127.0.0.1:{port}")
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sync_pubsub(pub, sub)
        handler = handlers.PUBHandler(pub, root_topic="app")
        assert handler.socket is pub and handler.ctx is ctx
        logger = logging.getLogger(f"zmtp-test-{zmq.__name__}")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(handler)
        try:
            logger.info("plain")
            assert sub.recv_multipart() == [b"app.INFO", b"plain\n"]
            logger.warning("db.conn::héllo")
            topic, text = sub.recv_multipart()
            assert topic == b"app.WARNING.db.conn"
            assert text.startswith(b"WARNING ") and text.endswith(" - héllo\n".encode())
            handler.root_topic = b""
            handler.setFormatter(logging.Formatter("<%(message)s>"))
            logger.error("boom")
            assert sub.recv_multipart() == [b"ERROR", b"<boom>"]
        finally:
            logger.removeHandler(handler)
    finally:
        ctx.destroy(linger=0)
