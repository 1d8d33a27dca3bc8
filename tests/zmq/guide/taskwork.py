"""Task worker (ZeroMQ guide, with the kill signal of the "handling errors" section): PULLs
tasks, "works" (sleeps) for the given milliseconds, PUSHes a result to the sink, and stops
when the sink publishes KILL.

usage: taskwork.py TASK_PORT SINK_PORT CONTROL_PORT
"""

import sys
import time

import zmq

task_port, sink_port, control_port = (int(a) for a in sys.argv[1:4])
context = zmq.Context()
receiver = context.socket(zmq.PULL)
receiver.connect(f"tcp://127.0.0.1:{task_port}")
sender = context.socket(zmq.PUSH)
sender.connect(f"tcp://127.0.0.1:{sink_port}")
controller = context.socket(zmq.SUB)
controller.connect(f"tcp://127.0.0.1:{control_port}")
controller.setsockopt(zmq.SUBSCRIBE, b"")

poller = zmq.Poller()
poller.register(receiver, zmq.POLLIN)
poller.register(controller, zmq.POLLIN)
done = 0
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    socks = dict(poller.poll(1000))
    if socks.get(receiver) == zmq.POLLIN:
        workload = int(receiver.recv_string())
        time.sleep(workload / 1000)
        sender.send(b"")
        done += 1
    if socks.get(controller) == zmq.POLLIN:
        assert controller.recv() == b"KILL"
        break
print(f"worker did {done} tasks")
context.destroy(linger=0)
