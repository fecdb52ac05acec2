"""The relay's settings, read from TFS_* variables at the entry point."""

from __future__ import annotations

import pytest

from tfs.config import load_settings
from tfs.errors import ConfigurationError


def test_the_relay_is_on_by_default_with_a_day_of_retries_and_no_nats() -> None:
    relay = load_settings({}).relay
    assert relay.enabled and relay.nats_url is None
    assert (relay.retry_hours, relay.nats_stream, relay.nats_subject_prefix) == (
        24.0,
        "TFS_EVENTS",
        "tfs.events",
    )


def test_settings_are_read_from_the_environment() -> None:
    relay = load_settings(
        {
            "TFS_RELAY": "off",
            "TFS_NATS_URL": "nats://127.0.0.1:4222",
            "TFS_WEBHOOK_RETRY_HOURS": "0.5",
            "TFS_WEBHOOK_BACKOFF_S": "0.01",
            "TFS_WEBHOOK_TIMEOUT_S": "2",
            "TFS_WEBHOOK_CONCURRENCY": "8",
            "TFS_RELAY_LEASE_S": "5",
        }
    ).relay
    assert not relay.enabled and relay.nats_url == "nats://127.0.0.1:4222"
    assert (relay.retry_hours, relay.backoff_s, relay.timeout_s) == (0.5, 0.01, 2.0)
    assert (relay.concurrency, relay.lease_s) == (8, 5.0)


@pytest.mark.parametrize(
    "env",
    [
        {"TFS_RELAY": "maybe"},
        {"TFS_NATS_URL": "http://127.0.0.1:4222"},
        {"TFS_WEBHOOK_RETRY_HOURS": "-1"},
        {"TFS_WEBHOOK_BACKOFF_S": "soon"},
        {"TFS_WEBHOOK_CONCURRENCY": "0"},
        {"TFS_WEBHOOK_TIMEOUT_S": "30", "TFS_RELAY_LEASE_S": "60"},
    ],
)
def test_unusable_relay_settings_are_refused_at_start(env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        load_settings(env)
