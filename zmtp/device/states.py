"""FairMQ's device state machine: exact state and transition names, table and log lines.

Pure and synchronous on purpose: the machine only decides and logs; a driver (the device
runtime) runs the user hooks for each state and requests the next transition. That keeps
the rules — which a FairMQ user, a controller or a DDS/ODC plugin relies on — testable
without threads, sockets or trio.

Semantics follow ``fairmq/StateMachine.cxx`` (FAIRMQ.md §4):

* a request is checked against the table immediately; an illegal one is refused
  (returns False) and logged at STATE as ``No transition from state <S> on transition
  <T>`` with the *underscore* spellings FairMQ's internal names have;
* only one transition may be pending; another request while one is pending is refused
  (``ERROR FOUND`` is always accepted and replaces it);
* entering the new state logs ``<OLD> ---> <NEW>`` at STATE; the first line is
  ``Starting FairMQ state machine --> IDLE``, the last ``Exiting FairMQ state machine``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Final

from .logger import STATE

__all__ = [
    "AUTO_STATES",
    "SHUTDOWN_TARGETS",
    "STARTUP_SEQUENCE",
    "TRANSITION_TABLE",
    "State",
    "StateMachine",
    "Transition",
    "shutdown_transition",
]


class State(enum.Enum):
    """Device states; ``value`` is FairMQ's printed name (with spaces since v1.4.6)."""

    UNDEFINED = "UNDEFINED"
    OK = "OK"
    ERROR = "ERROR"
    IDLE = "IDLE"
    INITIALIZING_DEVICE = "INITIALIZING DEVICE"
    INITIALIZED = "INITIALIZED"
    BINDING = "BINDING"
    BOUND = "BOUND"
    CONNECTING = "CONNECTING"
    DEVICE_READY = "DEVICE READY"
    INITIALIZING_TASK = "INITIALIZING TASK"
    READY = "READY"
    RUNNING = "RUNNING"
    RESETTING_TASK = "RESETTING TASK"
    RESETTING_DEVICE = "RESETTING DEVICE"
    EXITING = "EXITING"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, name: str) -> State:
        """``"DEVICE READY"`` (or ``DEVICE_READY``) -> ``State.DEVICE_READY``."""
        try:
            return cls[name.strip().replace(" ", "_").upper()]
        except KeyError:
            raise ValueError(f"unknown device state '{name}'") from None


class Transition(enum.Enum):
    """Transitions; ``value`` is the name ``ChangeState("...")`` takes."""

    AUTO = "AUTO"
    INIT_DEVICE = "INIT DEVICE"
    COMPLETE_INIT = "COMPLETE INIT"
    BIND = "BIND"
    CONNECT = "CONNECT"
    INIT_TASK = "INIT TASK"
    RUN = "RUN"
    STOP = "STOP"
    RESET_TASK = "RESET TASK"
    RESET_DEVICE = "RESET DEVICE"
    END = "END"
    ERROR_FOUND = "ERROR FOUND"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, name: str) -> Transition:
        """``"INIT DEVICE"`` (or ``INIT_DEVICE``) -> ``Transition.INIT_DEVICE``."""
        try:
            return cls[name.strip().replace(" ", "_").upper()]
        except KeyError:
            raise ValueError(f"unknown transition '{name}'") from None


S, T = State, Transition

#: (from, transition) -> to, FairMQ's ``transition_table``; ``ERROR FOUND`` is handled apart
#: (accepted from every state but ERROR).
TRANSITION_TABLE: Final[dict[tuple[State, Transition], State]] = {
    (S.IDLE, T.INIT_DEVICE): S.INITIALIZING_DEVICE,
    (S.IDLE, T.END): S.EXITING,
    (S.INITIALIZING_DEVICE, T.COMPLETE_INIT): S.INITIALIZED,
    (S.INITIALIZED, T.BIND): S.BINDING,
    (S.INITIALIZED, T.RESET_DEVICE): S.RESETTING_DEVICE,
    (S.BINDING, T.AUTO): S.BOUND,
    (S.BOUND, T.CONNECT): S.CONNECTING,
    (S.BOUND, T.RESET_DEVICE): S.RESETTING_DEVICE,
    (S.CONNECTING, T.AUTO): S.DEVICE_READY,
    (S.DEVICE_READY, T.INIT_TASK): S.INITIALIZING_TASK,
    (S.DEVICE_READY, T.RESET_DEVICE): S.RESETTING_DEVICE,
    (S.INITIALIZING_TASK, T.AUTO): S.READY,
    (S.READY, T.RUN): S.RUNNING,
    (S.READY, T.RESET_TASK): S.RESETTING_TASK,
    (S.RUNNING, T.STOP): S.READY,
    (S.RESETTING_TASK, T.AUTO): S.DEVICE_READY,
    (S.RESETTING_DEVICE, T.AUTO): S.IDLE,
}

#: Working states: the framework runs their handler and then requests ``AUTO`` itself
#: (INITIALIZING DEVICE is special: it waits for ``COMPLETE INIT``, see FAIRMQ.md §4.2).
AUTO_STATES: Final = frozenset(
    {S.BINDING, S.CONNECTING, S.INITIALIZING_TASK, S.RESETTING_TASK, S.RESETTING_DEVICE}
)

#: What a controller (static and interactive) requests to bring a new device to RUNNING,
#: each paired with the state it then waits for.
STARTUP_SEQUENCE: Final[tuple[tuple[Transition, State], ...]] = (
    (T.INIT_DEVICE, S.INITIALIZING_DEVICE),
    (T.COMPLETE_INIT, S.INITIALIZED),
    (T.BIND, S.BOUND),
    (T.CONNECT, S.DEVICE_READY),
    (T.INIT_TASK, S.READY),
    (T.RUN, S.RUNNING),
)

#: The shutdown sequence of the static controller: from each state, what to request next.
SHUTDOWN_TARGETS: Final[dict[State, Transition]] = {
    S.RUNNING: T.STOP,
    S.READY: T.RESET_TASK,
    S.DEVICE_READY: T.RESET_DEVICE,
    S.BOUND: T.RESET_DEVICE,
    S.INITIALIZED: T.RESET_DEVICE,
    S.INITIALIZING_DEVICE: T.COMPLETE_INIT,
    S.IDLE: T.END,
}


def shutdown_transition(state: State) -> Transition | None:
    """Next request of the shutdown sequence, None when the device is finished (EXITING,
    ERROR) or in a working state that will move on by itself."""
    return SHUTDOWN_TARGETS.get(state)


def _internal(name: str) -> str:
    """FairMQ's struct names, used in its "No transition" line: spaces -> underscores."""
    return name.replace(" ", "_")


StateListener = Callable[[State, State], None]


class StateMachine:
    """The device state machine, driven by ``request``/``process`` (or ``change_state``).

    ``request(t)`` decides (legal? nothing else pending?) and records the target;
    ``process()`` enters it, logs ``OLD ---> NEW`` and notifies listeners. Between the
    two, :attr:`new_state_pending` is True — that is what a device's run loop polls to
    know it must return, like FairMQ's ``NewStatePending()``.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger if logger is not None else logging.getLogger("zmtp.device.states")
        self._state = State.IDLE
        self._pending: tuple[Transition, State] | None = None
        self._started = False
        self._listeners: dict[str, StateListener] = {}

    @property
    def state(self) -> State:
        return self._state

    @property
    def new_state_pending(self) -> bool:
        return self._pending is not None

    @property
    def pending(self) -> tuple[Transition, State] | None:
        """The requested (transition, target state), if any."""
        return self._pending

    def start(self) -> None:
        """Log the first line; the machine is in IDLE."""
        self._started = True
        self.log.log(STATE, "Starting FairMQ state machine --> %s", self._state)

    def stop(self) -> None:
        """Log the last line."""
        self.log.log(STATE, "Exiting FairMQ state machine")

    def subscribe(self, key: str, listener: StateListener) -> None:
        """Call ``listener(old, new)`` on every entered state (FairMQ's state subscription)."""
        self._listeners[key] = listener

    def unsubscribe(self, key: str) -> None:
        self._listeners.pop(key, None)

    def target(self, transition: Transition) -> State | None:
        """Where ``transition`` leads from the current state, None if illegal."""
        basis = self._state
        if transition is T.ERROR_FOUND:
            return None if basis is S.ERROR else S.ERROR
        return TRANSITION_TABLE.get((basis, transition))

    def request(self, transition: Transition | str) -> bool:
        """Ask for a transition; False (and a STATE log line) if refused."""
        t = Transition.parse(transition) if isinstance(transition, str) else transition
        if self._pending is not None and t is not T.ERROR_FOUND:
            self.log.log(
                STATE,
                "Transition %s incoming, but another state transition is already ongoing.",
                t,
            )
            return False
        new = self.target(t)
        if new is None:
            self.log.log(
                STATE,
                "No transition from state %s on transition %s",
                _internal(self._state.value),
                _internal(t.value),
            )
            return False
        self._pending = (t, new)
        return True

    def process(self) -> State | None:
        """Enter the pending state (logging ``OLD ---> NEW``); None if nothing is pending."""
        if self._pending is None:
            return None
        _, new = self._pending
        old = self._state
        self._pending = None
        self._state = new
        self.log.log(STATE, "%s ---> %s", old, new)
        for listener in list(self._listeners.values()):
            listener(old, new)
        return new

    def change_state(self, transition: Transition | str) -> bool:
        """``request`` + ``process`` in one step (for drivers without a separate loop)."""
        if not self.request(transition):
            return False
        self.process()
        return True
