"""Weather update server (ZeroMQ guide): PUBlishes "zipcode temperature humidity" updates.

usage: wuserver.py PORT SECONDS   -- publishes for at most SECONDS.
Zip codes are drawn from a small range (the guide uses 100000) so that a subscriber to one
of them sees updates quickly in a test.
"""

import random
import sys
import time

import zmq

port, seconds = int(sys.argv[1]), float(sys.argv[2])
context = zmq.Context()
socket = context.socket(zmq.PUB)
socket.bind(f"tcp://127.0.0.1:{port}")
deadline = time.monotonic() + seconds
sent = 0
while time.monotonic() < deadline:
    zipcode = random.randrange(10000, 10010)
    temperature = random.randrange(-80, 135)
    relhumidity = random.randrange(10, 60)
    socket.send_string(f"{zipcode} {temperature} {relhumidity}")
    sent += 1
    if sent % 100 == 0:
        time.sleep(0.001)
context.destroy(linger=0)
