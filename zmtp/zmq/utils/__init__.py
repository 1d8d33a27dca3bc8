"""pyzmq's zmq.utils helpers: monitor message decoding, jsonapi, z85, Stopwatch."""
