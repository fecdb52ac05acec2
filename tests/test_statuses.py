"""The state machine, as a table: every pair of statuses, allowed or refused."""

from __future__ import annotations

import pytest

from tfs.orders.statuses import FINAL, Status, can_move, derived_order_status, parse_status

S = Status
ALLOWED = {
    (S.PENDING, S.PROCESSING),
    (S.PENDING, S.BACKORDERED),
    (S.PENDING, S.SHIPPED),
    (S.PENDING, S.DELIVERED),
    (S.PENDING, S.CANCELLED),
    (S.PENDING, S.REJECTED),
    (S.PROCESSING, S.BACKORDERED),
    (S.PROCESSING, S.SHIPPED),
    (S.PROCESSING, S.DELIVERED),
    (S.PROCESSING, S.CANCELLED),
    (S.PROCESSING, S.REJECTED),
    (S.BACKORDERED, S.PROCESSING),
    (S.BACKORDERED, S.SHIPPED),
    (S.BACKORDERED, S.DELIVERED),
    (S.BACKORDERED, S.CANCELLED),
    (S.BACKORDERED, S.REJECTED),
    (S.SHIPPED, S.DELIVERED),
    (S.SHIPPED, S.RETURNED),
    (S.DELIVERED, S.RETURNED),
}


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("target", list(Status))
def test_transition_table(current: Status, target: Status) -> None:
    expected = current == target or (current, target) in ALLOWED
    assert can_move(current, target) is expected


def test_cancelled_rejected_and_returned_are_final() -> None:
    assert {S.CANCELLED, S.REJECTED, S.RETURNED} == FINAL


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("Pending", S.PENDING),
        ("PENDING", S.PENDING),
        ("pending", S.PENDING),
        ("IN_PROGRESS", S.PROCESSING),
        ("in progress", S.PROCESSING),
        ("Processing", S.PROCESSING),
        ("back-ordered", S.BACKORDERED),
        ("On Hold", S.BACKORDERED),
        ("IN_TRANSIT", S.SHIPPED),
        ("dispatched", S.SHIPPED),
        ("Completed", S.DELIVERED),
        ("fulfilled", S.DELIVERED),
        ("Canceled", S.CANCELLED),
        ("CANCELLED", S.CANCELLED),
        ("Failed", S.REJECTED),
        ("declined", S.REJECTED),
        ("Refunded", S.RETURNED),
    ],
)
def test_input_is_case_insensitive_and_takes_aliases(raw: str, status: Status) -> None:
    assert parse_status(raw) is status


@pytest.mark.parametrize("raw", ["", "Teleported", "FAILED!", "Ship ped?"])
def test_unknown_words_are_not_statuses(raw: str) -> None:
    assert parse_status(raw) is None


def test_order_status_follows_items_only_when_they_all_agree() -> None:
    assert derived_order_status([S.SHIPPED, S.SHIPPED]) is S.SHIPPED
    assert derived_order_status([S.SHIPPED, S.DELIVERED]) is None
