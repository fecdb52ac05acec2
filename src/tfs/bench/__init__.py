"""`tfs bench`: the service under `wrk` on loopback, against a bare ASGI echo (see
docs/performance.md)."""
