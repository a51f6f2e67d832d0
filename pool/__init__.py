"""The Stratum v1 mining pool: a client of a node's REST API."""
