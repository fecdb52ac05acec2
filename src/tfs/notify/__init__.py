"""Telling the platform about every change: the relay, signed webhooks and NATS JetStream."""
