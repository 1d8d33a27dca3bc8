"""Topologies for the launcher: FairMQ-schema JSON (``fairMQOptions.devices``) plus a
``launch`` section naming the processes to start (device, id, arguments, and whether
it ends by itself or is stopped with SIGINT once the others are done)."""
