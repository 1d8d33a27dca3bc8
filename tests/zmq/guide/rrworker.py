"""Request-reply worker (ZeroMQ guide): REP on the broker's backend.

usage: rrworker.py PORT IDLE_SECONDS  -- answers requests until idle that long.
"""

import sys

import zmq

port, idle = int(sys.argv[1]), float(sys.argv[2])
context = zmq.Context()
socket = context.socket(zmq.REP)
socket.connect(f"tcp://127.0.0.1:{port}")
socket.rcvtimeo = int(idle * 1000)
answered = 0
while True:
    try:
        _hello, name, number = socket.recv_string().split()
    except zmq.Again:
        break
    socket.send_string(f"World {name} {number}")
    answered += 1
print(f"worker answered {answered}")
context.destroy(linger=1000)
