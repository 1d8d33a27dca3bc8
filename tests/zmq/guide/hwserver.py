"""Hello World server (ZeroMQ guide): a REP socket answers each "Hello" with "World".

usage: hwserver.py PORT COUNT   -- serves COUNT requests, then exits.
"""

import sys

import zmq

port, count = int(sys.argv[1]), int(sys.argv[2])
context = zmq.Context()
socket = context.socket(zmq.REP)
socket.bind(f"tcp://127.0.0.1:{port}")
for _ in range(count):
    message = socket.recv()
    assert message == b"Hello", message
    socket.send(b"World")
socket.close()
context.term()
print(f"served {count}")
