"""Request-reply client (ZeroMQ guide): REQ to the broker's frontend.

usage: rrclient.py PORT COUNT NAME
"""

import sys

import zmq

port, count, name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
context = zmq.Context()
socket = context.socket(zmq.REQ)
socket.connect(f"tcp://127.0.0.1:{port}")
socket.rcvtimeo = 20000
for request in range(count):
    socket.send_string(f"Hello {name} {request}")
    reply = socket.recv_string()
    assert reply == f"World {name} {request}", reply
print(f"client {name} got {count} replies")
context.destroy(linger=0)
