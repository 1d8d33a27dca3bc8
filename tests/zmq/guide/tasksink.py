"""Task sink (ZeroMQ guide): waits for the start of the batch, collects every result, reports
the elapsed time, then publishes KILL to the workers.

usage: tasksink.py SINK_PORT CONTROL_PORT TASKS
"""

import sys
import time

import zmq

sink_port, control_port, tasks = (int(a) for a in sys.argv[1:4])
context = zmq.Context()
receiver = context.socket(zmq.PULL)
receiver.bind(f"tcp://127.0.0.1:{sink_port}")
receiver.rcvtimeo = 30000
controller = context.socket(zmq.PUB)
controller.bind(f"tcp://127.0.0.1:{control_port}")

assert receiver.recv() == b"0"  # start of batch
start = time.monotonic()
for _ in range(tasks):
    receiver.recv()
print(f"Total elapsed time: {(time.monotonic() - start) * 1000:.0f} msec, {tasks} results")
# Workers subscribe late or early; repeat KILL a few times so every one of them hears it.
for _ in range(20):
    controller.send(b"KILL")
    time.sleep(0.05)
context.destroy(linger=0)
