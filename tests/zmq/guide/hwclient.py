"""Hello World client (ZeroMQ guide): a REQ socket sends "Hello" and waits for "World".

usage: hwclient.py PORT COUNT
"""

import sys

import zmq

port, count = int(sys.argv[1]), int(sys.argv[2])
context = zmq.Context()
socket = context.socket(zmq.REQ)
socket.connect(f"tcp://127.0.0.1:{port}")
socket.rcvtimeo = 20000
for _request in range(count):
    socket.send(b"Hello")
    reply = socket.recv()
    assert reply == b"World", reply
socket.close()
context.term()
print(f"received {count} replies")
