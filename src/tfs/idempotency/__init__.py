"""Idempotency-Key: a request repeated with the same key is answered as the first time."""
