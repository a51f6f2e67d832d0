"""Talking to peers over the ``/p2p`` WebSocket. May import ``consensus`` types only."""
