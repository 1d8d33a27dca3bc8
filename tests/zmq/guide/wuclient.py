"""Weather update client (ZeroMQ guide): SUBscribes to one zip code, averages the
temperature over a few updates.

usage: wuclient.py PORT ZIPCODE UPDATES
"""

import sys

import zmq

port, zip_filter, updates = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
context = zmq.Context()
socket = context.socket(zmq.SUB)
socket.connect(f"tcp://127.0.0.1:{port}")
socket.setsockopt_string(zmq.SUBSCRIBE, zip_filter)
socket.rcvtimeo = 20000
total_temp = 0
for _ in range(updates):
    zipcode, temperature, _relhumidity = socket.recv_string().split()
    assert zipcode == zip_filter, zipcode
    total_temp += int(temperature)
print(f"Average temperature for zipcode '{zip_filter}' was {total_temp / updates:.1f}F")
context.destroy(linger=0)
