"""The FairMQ state machine: names, table, refusals, log lines, the static lifecycle."""

from __future__ import annotations

import logging

import pytest

from zmtp.device.logger import STATE
from zmtp.device.states import (
    AUTO_STATES,
    STARTUP_SEQUENCE,
    TRANSITION_TABLE,
    State,
    StateMachine,
    Transition,
    shutdown_transition,
)


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelno, record.getMessage()))


@pytest.fixture
def machine() -> tuple[StateMachine, Capture]:
    log = logging.getLogger("test.states")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    cap = Capture()
    log.handlers[:] = [cap]
    return StateMachine(log), cap


def test_exact_names() -> None:
    assert [s.value for s in State] == [
        "UNDEFINED", "OK", "ERROR", "IDLE", "INITIALIZING DEVICE", "INITIALIZED", "BINDING",
        "BOUND", "CONNECTING", "DEVICE READY", "INITIALIZING TASK", "READY", "RUNNING",
        "RESETTING TASK", "RESETTING DEVICE", "EXITING",
    ]
    assert [t.value for t in Transition] == [
        "AUTO", "INIT DEVICE", "COMPLETE INIT", "BIND", "CONNECT", "INIT TASK", "RUN", "STOP",
        "RESET TASK", "RESET DEVICE", "END", "ERROR FOUND",
    ]
    assert str(State.DEVICE_READY) == "DEVICE READY"
    assert State.parse("device ready") is State.DEVICE_READY
    assert Transition.parse("INIT_DEVICE") is Transition.INIT_DEVICE
    with pytest.raises(ValueError, match="unknown transition 'PAUSE'"):
        Transition.parse("PAUSE")
    with pytest.raises(ValueError, match="unknown device state"):
        State.parse("PAUSED")


def test_table_has_the_17_fairmq_transitions() -> None:
    assert len(TRANSITION_TABLE) == 17
    assert {s for s, t in TRANSITION_TABLE if t is Transition.AUTO} == AUTO_STATES


def drive_static(m: StateMachine, run_hook_ends: bool = True) -> None:
    """A driver like FairMQ's static controller + device: hooks do nothing."""

    def settle() -> None:
        while m.process() is not None:
            if m.state in AUTO_STATES:
                assert m.request(Transition.AUTO)

    m.start()
    for transition, wait_for in STARTUP_SEQUENCE:
        assert m.request(transition)
        settle()
        assert m.state is wait_for
    if run_hook_ends:  # Run() returned: the device requests STOP itself
        assert m.request(Transition.STOP)
        settle()
    while (t := shutdown_transition(m.state)) is not None:
        assert m.request(t)
        settle()
    m.stop()


def test_static_lifecycle_log(machine: tuple[StateMachine, Capture]) -> None:
    m, cap = machine
    drive_static(m)
    assert m.state is State.EXITING
    assert all(level == STATE for level, _ in cap.lines)
    assert [text for _, text in cap.lines] == [
        "Starting FairMQ state machine --> IDLE",
        "IDLE ---> INITIALIZING DEVICE",
        "INITIALIZING DEVICE ---> INITIALIZED",
        "INITIALIZED ---> BINDING",
        "BINDING ---> BOUND",
        "BOUND ---> CONNECTING",
        "CONNECTING ---> DEVICE READY",
        "DEVICE READY ---> INITIALIZING TASK",
        "INITIALIZING TASK ---> READY",
        "READY ---> RUNNING",
        "RUNNING ---> READY",
        "READY ---> RESETTING TASK",
        "RESETTING TASK ---> DEVICE READY",
        "DEVICE READY ---> RESETTING DEVICE",
        "RESETTING DEVICE ---> IDLE",
        "IDLE ---> EXITING",
        "Exiting FairMQ state machine",
    ]


def test_shutdown_from_running_on_signal(machine: tuple[StateMachine, Capture]) -> None:
    m, cap = machine
    drive_static(m, run_hook_ends=False)  # shutdown sequence starts with STOP itself
    assert m.state is State.EXITING
    assert "RUNNING ---> READY" in [text for _, text in cap.lines]


def test_illegal_transitions_are_refused_with_underscore_names(
    machine: tuple[StateMachine, Capture],
) -> None:
    m, cap = machine
    m.start()
    assert not m.change_state(Transition.RUN)
    assert cap.lines[-1] == (STATE, "No transition from state IDLE on transition RUN")
    assert m.change_state("INIT DEVICE")
    assert not m.change_state("RESET TASK")
    assert cap.lines[-1] == (
        STATE, "No transition from state INITIALIZING_DEVICE on transition RESET_TASK")
    assert m.state is State.INITIALIZING_DEVICE
    for t in (Transition.COMPLETE_INIT, Transition.BIND, Transition.AUTO, Transition.CONNECT,
              Transition.AUTO):
        assert m.change_state(t)
    assert m.state is State.DEVICE_READY
    assert not m.change_state(Transition.AUTO)
    assert cap.lines[-1][1] == "No transition from state DEVICE_READY on transition AUTO"


def test_every_pair_not_in_table_is_refused() -> None:
    for state in State:
        for t in Transition:
            m = StateMachine(logging.getLogger("test.states.quiet"))
            m._state = state  # direct placement, only for this exhaustive check
            expected = TRANSITION_TABLE.get((state, t))
            if t is Transition.ERROR_FOUND:
                expected = None if state is State.ERROR else State.ERROR
            assert m.request(t) is (expected is not None), (state, t)
            assert m.process() == expected


def test_only_one_pending_transition(machine: tuple[StateMachine, Capture]) -> None:
    m, cap = machine
    assert m.request(Transition.INIT_DEVICE)
    assert m.new_state_pending
    assert m.pending == (Transition.INIT_DEVICE, State.INITIALIZING_DEVICE)
    assert not m.request(Transition.END)
    assert cap.lines[-1] == (
        STATE, "Transition END incoming, but another state transition is already ongoing.")
    assert m.process() is State.INITIALIZING_DEVICE
    assert not m.new_state_pending
    assert m.process() is None


def test_error_found_always_accepted_then_terminal(machine: tuple[StateMachine, Capture]) -> None:
    m, cap = machine
    m.change_state(Transition.INIT_DEVICE)
    assert m.request(Transition.COMPLETE_INIT)
    assert m.request(Transition.ERROR_FOUND)  # replaces the pending one
    assert m.process() is State.ERROR
    assert cap.lines[-1] == (STATE, "INITIALIZING DEVICE ---> ERROR")
    assert shutdown_transition(State.ERROR) is None
    for t in Transition:
        assert not m.request(t)
    assert m.state is State.ERROR


def test_listeners(machine: tuple[StateMachine, Capture]) -> None:
    m, _ = machine
    seen: list[tuple[State, State]] = []
    m.subscribe("x", lambda old, new: seen.append((old, new)))
    m.change_state(Transition.INIT_DEVICE)
    m.unsubscribe("x")
    m.change_state(Transition.COMPLETE_INIT)
    assert seen == [(State.IDLE, State.INITIALIZING_DEVICE)]


def test_shutdown_targets() -> None:
    assert shutdown_transition(State.RUNNING) is Transition.STOP
    assert shutdown_transition(State.READY) is Transition.RESET_TASK
    for s in (State.DEVICE_READY, State.BOUND, State.INITIALIZED):
        assert shutdown_transition(s) is Transition.RESET_DEVICE
    assert shutdown_transition(State.INITIALIZING_DEVICE) is Transition.COMPLETE_INIT
    assert shutdown_transition(State.IDLE) is Transition.END
    assert shutdown_transition(State.EXITING) is None
    assert shutdown_transition(State.BINDING) is None
