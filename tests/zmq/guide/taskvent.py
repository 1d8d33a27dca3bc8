"""Task ventilator (ZeroMQ guide): PUSHes a batch of tasks to the workers, after telling the
sink (with a "0" message) that a batch starts.

usage: taskvent.py TASK_PORT SINK_PORT TASKS WORKERS
Waits until WORKERS workers are connected (so the batch is spread among them).
"""

import random
import sys
import time

import zmq

task_port, sink_port, tasks, workers = (int(a) for a in sys.argv[1:5])
context = zmq.Context()
sender = context.socket(zmq.PUSH)
sender.bind(f"tcp://127.0.0.1:{task_port}")
monitor = sender.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
sink = context.socket(zmq.PUSH)
sink.connect(f"tcp://127.0.0.1:{sink_port}")

# The guide waits for the user to press Enter once the workers are up; wait for them instead.
deadline = time.monotonic() + 30
connected = 0
while connected < workers and time.monotonic() < deadline:
    if monitor.poll(100):
        monitor.recv_multipart()
        connected += 1

sink.send(b"0")
random.seed()
total_msec = 0
for _ in range(tasks):
    workload = random.randint(1, 5)
    total_msec += workload
    sender.send_string(f"{workload}")
print(f"Total expected cost: {total_msec} msec")
sender.disable_monitor()
monitor.close()
sender.close(linger=-1)
sink.close(linger=-1)
context.term()
