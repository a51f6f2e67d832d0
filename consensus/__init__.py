"""Seedchain consensus rules (pure functions; see docs/protocol.md)."""
