"""Faults on demand (README "Faults on demand"): outages, throttling
storms, receipt delay and loss, a slow server and link faults, switched on
and off while the server runs.

``model``: what a fault is and its checks (no Twisted); ``registry``: the
active faults of a running server, polled from the store once a second,
and the hooks the engine and the SMPP session call; ``scenario``: a TOML
list of timed faults (``smsc fault run``).
"""
