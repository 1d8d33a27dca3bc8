"""Request-reply broker (ZeroMQ guide): a ROUTER for clients, a DEALER for workers, and a
Poller moving whole messages between them.

usage: rrbroker.py FRONTEND_PORT BACKEND_PORT REQUESTS  -- exits after REQUESTS replies.
"""

import sys

import zmq

front_port, back_port, requests = (int(a) for a in sys.argv[1:4])
context = zmq.Context()
frontend = context.socket(zmq.ROUTER)
backend = context.socket(zmq.DEALER)
frontend.bind(f"tcp://127.0.0.1:{front_port}")
backend.bind(f"tcp://127.0.0.1:{back_port}")

poller = zmq.Poller()
poller.register(frontend, zmq.POLLIN)
poller.register(backend, zmq.POLLIN)
replies = 0
while replies < requests:
    socks = dict(poller.poll(30000))
    if not socks:
        raise SystemExit("broker idle for 30 s")
    if socks.get(frontend) == zmq.POLLIN:
        backend.send_multipart(frontend.recv_multipart())
    if socks.get(backend) == zmq.POLLIN:
        frontend.send_multipart(backend.recv_multipart())
        replies += 1
print(f"broker forwarded {replies} replies")
context.destroy(linger=1000)
