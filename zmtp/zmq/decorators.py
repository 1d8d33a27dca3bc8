"""pyzmq's ``zmq.decorators``: ``@context()`` and ``@socket(type)`` hand a function a fresh
Context / Socket for the duration of each call and clean it up afterwards.

Unnamed, the new object is appended to the positional arguments (so stacked decorators
fill ``f(ctx, pub, sub)`` left to right); named (``@context("ctx")`` or ``name="ctx"``), it
is passed as that keyword.  ``@socket`` makes its socket in the context passed as
``context_name``, else in the first Context among the call's arguments, else in
``Context.instance()``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["context", "socket"]


def _split_name(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[str | None, tuple[Any, ...]]:
    name = kwargs.pop("name", None)
    if args and isinstance(args[0], str):
        if name is not None:
            raise TypeError("name given both positionally and as a keyword")
        name, args = args[0], args[1:]
    return name, args


def _call(func: Callable[..., Any], name: str | None, value: Any, args: tuple[Any, ...],
          kwargs: dict[str, Any]) -> Any:
    if name is None:
        return func(*args, value, **kwargs)
    if name in kwargs:
        raise TypeError(f"{func.__name__}() got multiple values for argument {name!r}")
    return func(*args, **{name: value}, **kwargs)


def context(*args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@context(name=None, *context_args, **context_kwargs)``: a new Context per call."""
    name, ctx_args = _split_name(args, kwargs)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*a: Any, **kw: Any) -> Any:
            from zmtp.zmq.context import Context

            ctx = Context(*ctx_args, **kwargs)
            try:
                return _call(func, name, ctx, a, kw)
            finally:
                ctx.destroy(linger=0)

        return wrapper

    return decorate


def socket(*args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@socket(name=None, socket_type, context_name=None, **options)``: a new Socket per
    call, with ``options`` set on it (``linger=0`` style names, as pyzmq's)."""
    name, rest = _split_name(args, kwargs)
    context_name = kwargs.pop("context_name", None)
    socket_type = rest[0] if rest else kwargs.pop("socket_type", None)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*a: Any, **kw: Any) -> Any:
            from zmtp.zmq.context import Context

            if socket_type is None:
                raise TypeError("socket type required (e.g. @socket(zmq.PUB))")
            if context_name is not None and context_name in kw:
                ctx = kw[context_name]
            else:
                found = [v for v in (*a, *kw.values()) if isinstance(v, Context)]
                ctx = found[0] if found else Context.instance()
            sock = ctx.socket(socket_type)
            try:
                for option, value in kwargs.items():
                    setattr(sock, option, value)
                return _call(func, name, sock, a, kw)
            finally:
                sock.close(linger=0)

        return wrapper

    return decorate
