"""Use cases of the console's operators: onboarding, signing in and out, sessions, passwords.
Each is one transaction (the slow password hash is worked out outside it)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tfs.console import passwords
from tfs.console.repository import Operator, Operators, Session, Sessions
from tfs.db.store import Store
from tfs.db.transaction import Transaction

# A session ends 12 hours after sign-in whatever happens (a working day), or after 30 minutes
# without a request (a browser left open); its last request is written at most once a minute.
SESSION_LIFETIME = timedelta(hours=12)
SESSION_IDLE = timedelta(minutes=30)
TOUCH_EVERY = timedelta(minutes=1)
# Five wrong passwords in a row lock the name for five minutes: about 1,400 guesses a day.
LOCK_AFTER_FAILURES = 5
LOCK_FOR = timedelta(minutes=5)


class OperatorExists(Exception):
    pass


class OperatorNotFound(Exception):
    pass


class SignInRefused(Exception):
    """A wrong name or password, or a locked name: the same answer for each, so that it does
    not tell which names exist."""


class PasswordRefused(Exception):
    """A new password that does not do (the message says why), or a wrong current one."""


@dataclass(frozen=True)
class SignedIn:
    """A new session: the token goes in the cookie and is never stored."""

    token: str
    session: Session
    must_change: bool


@dataclass(frozen=True)
class Current:
    """The session a request came with, and its operator."""

    session: Session
    operator: Operator


def add_operator(store: Store, name: str, now: datetime) -> str:
    """A new operator with a one-time password (returned), to be changed at first sign-in."""
    secret = passwords.one_time_password()
    hashed = passwords.hash_password(secret)
    with store.transaction() as tx:
        if not Operators(tx).add(name, hashed, True, now):
            raise OperatorExists(f"Operator {name} already exists.")
    return secret


def reset_operator(store: Store, name: str) -> str:
    """A new one-time password; the operator's sessions end, and any lock is lifted."""
    secret = passwords.one_time_password()
    hashed = passwords.hash_password(secret)
    with store.transaction() as tx:
        if not Operators(tx).set_password(name, hashed, True):
            raise OperatorNotFound(f"No operator {name}.")
        Sessions(tx).end_all_of(name)
    return secret


def remove_operator(store: Store, name: str) -> None:
    with store.transaction() as tx:
        Sessions(tx).end_all_of(name)
        if not Operators(tx).remove(name):
            raise OperatorNotFound(f"No operator {name}.")


def list_operators(store: Store) -> list[Operator]:
    with store.transaction(readonly=True) as tx:
        return Operators(tx).all()


def _locked(operator: Operator, now: datetime) -> bool:
    return operator.locked_until is not None and operator.locked_until > now


def sign_in(store: Store, name: str, password: str, now: datetime) -> SignedIn:
    """A session for the right password of a name that is not locked; else SignInRefused, and
    a wrong password counts towards the lock."""
    if len(password) > passwords.MAX_LENGTH:
        raise SignInRefused()
    with store.transaction(readonly=True) as tx:
        operator = Operators(tx).get(name)
    if operator is None:
        passwords.burn_time(password)
        raise SignInRefused()
    if _locked(operator, now):
        raise SignInRefused()  # not counted: more tries do not extend the lock
    right = passwords.verify_password(password, operator.password_hash)
    with store.transaction() as tx:  # the failure is counted: nothing raises in here
        signed_in = _settle(tx, operator, right, now)
    if signed_in is None:
        raise SignInRefused()
    return signed_in


def _settle(tx: Transaction, operator: Operator, right: bool, now: datetime) -> SignedIn | None:
    operators, name = Operators(tx), operator.name
    if not right:
        if operators.failed(name) >= LOCK_AFTER_FAILURES:
            operators.lock(name, now + LOCK_FOR)
        return None
    current = operators.get(name)
    # Looked at again in the write: a lock or a new password may have come meanwhile.
    if current is None or _locked(current, now) or current.password_hash != operator.password_hash:
        return None
    operators.succeeded(name)
    return _new_session(Sessions(tx), name, current.must_change, now)


def _new_session(sessions: Sessions, name: str, must_change: bool, now: datetime) -> SignedIn:
    token = passwords.new_token()
    session = Session(
        passwords.token_hash(token),
        name,
        secrets.token_urlsafe(32),
        now,
        now,
        now + SESSION_LIFETIME,
    )
    sessions.add(session)
    return SignedIn(token, session, must_change)


def current_session(store: Store, token: str, now: datetime) -> Current | None:
    """The live session of this cookie token, or None (unknown, expired or idle too long)."""
    hashed = passwords.token_hash(token)
    with store.transaction(readonly=True) as tx:
        session = Sessions(tx).get(hashed)
        operator = Operators(tx).get(session.operator) if session is not None else None
    if session is None or operator is None:
        return None
    if now >= session.expires_at or now - session.last_seen_at >= SESSION_IDLE:
        sign_out(store, token)
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        with store.transaction() as tx:
            Sessions(tx).touch(hashed, now)
    return Current(session, operator)


def sign_out(store: Store, token: str) -> None:
    with store.transaction() as tx:
        Sessions(tx).end(passwords.token_hash(token))


def change_password(store: Store, current: Current, old: str, new: str) -> None:
    """Set a new password (the current one must be given again); the operator's other
    sessions end."""
    name = current.operator.name
    why = passwords.weak(new, name)
    if why is not None:
        raise PasswordRefused(why)
    if not passwords.verify_password(old, current.operator.password_hash):
        raise PasswordRefused("The current password is not right.")
    if passwords.verify_password(new, current.operator.password_hash):
        raise PasswordRefused("The new password must differ from the current one.")
    hashed = passwords.hash_password(new)
    with store.transaction() as tx:
        if not Operators(tx).set_password(name, hashed, False):
            raise OperatorNotFound(f"No operator {name}.")
        Sessions(tx).end_others_of(name, current.session.token_hash)


def purge_sessions(store: Store, now: datetime) -> int:
    """Forget sessions that have ended by either lifetime."""
    with store.transaction() as tx:
        return Sessions(tx).purge(now, now - SESSION_IDLE)
