"""The IMAP mailbox (imapclient): connect, find unprocessed mail by UID, fetch, move or flag.

A pass (fetch_new):
- connect (implicit TLS, STARTTLS, or plain only to a loopback host or with allow_plaintext;
  certificates verified, with an optional CA file) and select the folder;
- compare UIDVALIDITY with the store's checkpoint: on a change the folder is rescanned from
  UID 1 and the store's unique keys (the sha256 of the bytes) prevent double counting;
- SEARCH the candidates once (move mode: everything still in the folder; flags-only mode:
  everything without the keywords; keep-in-place backfill: skip what is already recorded);
- fetch sizes, then bodies in batches of at most batch_size messages and about
  max_fetch_bytes bytes; a larger message is never fetched whole: its headers, delivery-status
  and text parts and the returned original's headers are fetched by section and assembled
  into a reduced message (poller/reduce.py; RawMessage.size keeps the full size);
- mark_done only notes the UID; the moves are made between batches and at flush(), after the
  runner committed those messages. MOVE when advertised, else COPY + \\Deleted + UID EXPUNGE of
  exactly those UIDs. Nothing else is ever deleted.
Connection loss ((OSError, IMAPClientAbortError), nothing else) reconnects with exponential
backoff and jitter, each attempt logged; after a reconnect the search resumes with
`UID n:*`, filtered (the server always returns the last message for n:*).
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import os
import random
import ssl
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from returnpath.config import MailboxConfig
from returnpath.model import RawMessage
from returnpath.poller.fetch import fetch
from returnpath.poller.logs import get_logger, log_event
from returnpath.poller.mailbox import (
    Disposition,
    MailboxConfigError,
    MailboxUnavailable,
)
from returnpath.poller.reduce import assemble_reduced, atom_text

log = get_logger("imap")
T = TypeVar("T")

#: Errors that mean "the connection is gone": the only ones that are retried.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OSError, IMAPClientAbortError)

class CheckpointStore(Protocol):
    """The part of the Store the IMAP mailbox reads."""

    def checkpoint(self, source: str, folder: str) -> tuple[int | None, int] | None: ...

    def is_recorded(
        self, source: str, folder: str, uidvalidity: int | None, uid: int
    ) -> bool: ...


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_password(config: MailboxConfig) -> str:
    """The password from password_env or password_file; raises MailboxConfigError otherwise."""
    if config.password_env:
        value = os.environ.get(config.password_env)
        if value is None:
            raise MailboxConfigError(
                config.name, f"environment variable {config.password_env} (password_env) is not set"
            )
        return value
    if config.password_file:
        try:
            with open(config.password_file, encoding="utf-8") as fh:
                return fh.readline().rstrip("\r\n")
        except OSError as exc:
            raise MailboxConfigError(
                config.name, f"cannot read password_file {config.password_file}: "
                f"{exc.strerror or exc}"
            ) from exc
    raise MailboxConfigError(config.name, "set password_env or password_file")


def check_config(config: MailboxConfig) -> None:
    """Refuse settings that cannot work or are unsafe, before any connection is made."""
    if config.tls == "none" and not (is_loopback(config.host) or config.allow_plaintext):
        raise MailboxConfigError(
            config.name,
            f"tls = \"none\" to the non-loopback host {config.host} sends the password in "
            "clear; use tls = \"implicit\" or \"starttls\", or set allow_plaintext = true",
        )
    if config.ca_file and not os.path.isfile(config.ca_file):
        raise MailboxConfigError(config.name, f"ca_file {config.ca_file} does not exist")


class ImapMailbox:
    """One IMAP folder as a Mailbox (see the module docstring)."""

    def __init__(
        self,
        config: MailboxConfig,
        store: CheckpointStore | None = None,
        *,
        folder: str | None = None,
        since: date | None = None,
        before: date | None = None,
        keep_in_place: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        check_config(config)
        self.config = config
        self.name = config.name
        self.folder = folder or config.folder
        self.store = store
        self.since = since
        self.before = before
        # Reading the processed or unparsed folder itself (a backfill over old mail there):
        # moving a message to where it already is would only renumber it, so leave it.
        self.keep_in_place = keep_in_place or (
            not config.flags_only
            and self.folder in (config.processed_folder, config.unparsed_folder)
        )
        self._sleep = sleep
        #: The runner records in batches of this size (and bytes), one per FETCH batch, so
        #: a batch's moves go out in one MOVE after its commit.
        self.batch_size = config.batch_size
        self.batch_bytes = config.max_fetch_bytes
        self._client: IMAPClient | None = None
        self._uidvalidity: int | None = None
        self._rescan = False  # set when UIDVALIDITY changed across a reconnect
        self._pending: dict[Disposition, list[int]] = {d: [] for d in Disposition}
        self._can_move = False
        self._folders_ready = False
        self.reconnects = 0
        #: How many messages the first search of the current pass found (for progress bars).
        self.candidates: int | None = None

    # --- connection -------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """Verifying context: the system CAs, plus ca_file when set."""
        ctx = ssl.create_default_context()
        if self.config.ca_file:
            ctx.load_verify_locations(cafile=self.config.ca_file)
        return ctx

    def connect(self) -> IMAPClient:
        """The one place a connection is made and logged in; a test double overrides it."""
        cfg = self.config
        timeout = cfg.timeout_seconds or None
        if cfg.tls == "implicit":
            client = IMAPClient(cfg.host, port=cfg.port or 993, ssl=True,
                                ssl_context=self.ssl_context(), timeout=timeout)
        else:
            client = IMAPClient(cfg.host, port=cfg.port or 143, ssl=False, timeout=timeout)
        # imapclient turns imaplib's tracing fully on and sends it to the "imapclient.imaplib"
        # logger; imaplib then formats every line and the repr of every fetched message
        # before the logger drops it. Trace only when that logger would keep it.
        if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
            client._imap.debug = 0
        try:
            if cfg.tls == "starttls":
                client.starttls(self.ssl_context())
            client.normalise_times = False
            client.login(cfg.username, read_password(cfg))
        except BaseException:
            _quiet_logout(client)
            raise
        return client

    def _ensure(self) -> IMAPClient:
        if self._client is not None:
            return self._client
        client = self.connect()
        try:
            self._can_move = b"MOVE" in client.capabilities()
            if not self._folders_ready and not self.config.flags_only and not self.keep_in_place:
                for name in (self.config.processed_folder, self.config.unparsed_folder):
                    if not client.folder_exists(name):
                        try:
                            client.create_folder(name)
                        except IMAPClientError:
                            # Another instance (or the server's own index refresh) created it
                            # between our check and CREATE: "already exists" is success.
                            if not client.folder_exists(name):
                                raise
                        else:
                            log_event(log, "folder_created", mailbox=self.name, folder=name)
                self._folders_ready = True
            selected = client.select_folder(self.folder, readonly=self.keep_in_place)
            if self.config.flags_only and not self.keep_in_place:
                self._check_keywords(selected)
        except BaseException:
            _quiet_logout(client)
            raise
        uidvalidity = int(selected[b"UIDVALIDITY"])
        if self._uidvalidity is not None and uidvalidity != self._uidvalidity:
            log_event(log, "uidvalidity_changed", logging.WARNING, mailbox=self.name,
                      folder=self.folder, old=self._uidvalidity, new=uidvalidity)
            self._rescan = True
            for uids in self._pending.values():
                uids.clear()  # those UIDs mean nothing now; the rescan re-finds the mail
        self._uidvalidity = uidvalidity
        self._client = client
        return client

    def _check_keywords(self, selected: dict[bytes, Any]) -> None:
        """Flags-only mode needs keywords; a server that drops them would reread all mail."""
        permanent = {atom_text(f) for f in selected.get(b"PERMANENTFLAGS", ())}
        wanted = {self.config.processed_keyword, self.config.unparsed_keyword}
        if "\\*" not in permanent and not wanted <= permanent:
            raise MailboxConfigError(
                self.name,
                f"flags_only needs IMAP keywords, but the server does not keep them in "
                f"{self.folder} (PERMANENTFLAGS {' '.join(sorted(permanent)) or 'empty'})",
            )

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # the socket is usually already dead
                client.shutdown()

    def _call(self, what: str, op: Callable[[IMAPClient], T]) -> T:
        """Run `op` on a live connection; reconnect with backoff on connection loss only."""
        cfg = self.config
        attempt = 0
        while True:
            try:
                return op(self._ensure())
            except ssl.SSLCertVerificationError as exc:
                self._drop()
                raise MailboxUnavailable(
                    self.name, f"certificate refused: {exc.verify_message}"
                ) from exc
            except LoginError as exc:
                self._drop()
                raise MailboxUnavailable(
                    self.name, f"login failed for {cfg.username}: {exc}"
                ) from exc
            except TRANSIENT_ERRORS as exc:
                self._drop()
                attempt += 1
                if attempt > cfg.reconnect_attempts:
                    raise MailboxUnavailable(
                        self.name, f"{what}: {exc!r} (gave up after {attempt - 1} reconnects)"
                    ) from exc
                delay = min(cfg.reconnect_max_delay_seconds,
                            cfg.reconnect_delay_seconds * 2 ** (attempt - 1))
                delay *= random.uniform(0.5, 1.0)  # jitter: instances do not retry in step
                log_event(log, "imap_reconnect", logging.WARNING, mailbox=self.name,
                          during=what, attempt=attempt, of=cfg.reconnect_attempts,
                          delay=round(delay, 3), error=repr(exc))
                self.reconnects += 1
                self._sleep(delay)
            except IMAPClientError as exc:
                self._drop()
                raise MailboxUnavailable(self.name, f"{what}: {exc}") from exc

    def check(self) -> dict[str, Any]:
        """Connect, log in and select the folder once (for `config check`); returns its status."""
        def status(client: IMAPClient) -> dict[str, Any]:
            return {
                "uidvalidity": self._uidvalidity,
                "messages": int(client.folder_status(self.folder, [b"MESSAGES"])[b"MESSAGES"]),
                "move": self._can_move,
            }
        try:
            return self._call("check", status)
        finally:
            self.close()

    # --- reading ----------------------------------------------------------------------

    def _criteria(self, after: int) -> list[Any]:
        criteria: list[Any] = []
        if after:
            criteria += ["UID", f"{after + 1}:*"]
        if self.config.flags_only and not self.keep_in_place:
            criteria += ["NOT", "KEYWORD", self.config.processed_keyword,
                         "NOT", "KEYWORD", self.config.unparsed_keyword]
        if self.since:
            criteria += ["SINCE", self.since]
        if self.before:
            criteria += ["BEFORE", self.before]
        return criteria or ["ALL"]

    def _search(self, after: int) -> list[int]:
        uids = self._call("search", lambda c: c.search(self._criteria(after)))
        # `UID n:*` always matches the highest UID, even below n: filter ourselves.
        found = sorted(u for u in uids if u > after)
        if self.keep_in_place and self.store is not None and self._uidvalidity is not None:
            uv = self._uidvalidity
            found = [u for u in found
                     if not self.store.is_recorded(self.name, self.folder, uv, u)]
        return found

    def fetch_new(self) -> Iterator[RawMessage]:
        self._call("connect", lambda c: None)
        if self.store is not None:
            saved = self.store.checkpoint(self.name, self.folder)
            if saved is not None and saved[0] != self._uidvalidity:
                log_event(log, "uidvalidity_changed", logging.WARNING, mailbox=self.name,
                          folder=self.folder, old=saved[0], new=self._uidvalidity,
                          action="rescan from UID 1")
        last = 0
        uids = self._search(0)
        self.candidates = len(uids)
        while uids:
            batch, uids = uids[: self.config.batch_size], uids[self.config.batch_size :]
            self.flush()
            reconnects = self.reconnects
            yield from self._fetch_batch(batch)
            last = batch[-1]
            self.flush()
            if self._rescan:
                self._rescan = False
                last = 0
                uids = self._search(0)
            elif self.reconnects != reconnects:
                # Mail may have arrived or gone while we were away: search again past `last`.
                uids = self._search(last)

    def _fetch_batch(self, batch: list[int]) -> Iterator[RawMessage]:
        meta = self._call("fetch sizes",
                          lambda c: fetch(c, batch, ["RFC822.SIZE", "INTERNALDATE"]))
        limit = self.config.max_fetch_bytes
        group: list[int] = []
        group_bytes = 0
        for uid in batch:
            if uid not in meta:
                continue  # expunged by someone else meanwhile
            size = int(meta[uid][b"RFC822.SIZE"])
            received = meta[uid].get(b"INTERNALDATE")
            if size > limit:
                yield from self._fetch_whole(group, meta)
                group, group_bytes = [], 0
                yield self._fetch_reduced(uid, size, received)
                continue
            if group and group_bytes + size > limit:
                yield from self._fetch_whole(group, meta)
                group, group_bytes = [], 0
            group.append(uid)
            group_bytes += size
        yield from self._fetch_whole(group, meta)

    def _fetch_whole(self, uids: list[int], meta: dict[int, Any]) -> Iterator[RawMessage]:
        if not uids:
            return
        bodies = self._call("fetch", lambda c: fetch(c, uids, ["BODY.PEEK[]"]))
        uv = self._uidvalidity
        for uid in uids:
            item = bodies.pop(uid, None)
            if item is None:
                continue
            data = item[b"BODY[]"]
            yield RawMessage(self.name, self.folder, uv, uid, data,
                             _aware(meta[uid].get(b"INTERNALDATE")), size=len(data))

    def _fetch_reduced(self, uid: int, size: int, received: Any) -> RawMessage:
        """What a bounce needs from a message too large to fetch whole."""
        def fetch(c: IMAPClient) -> bytes:
            first = c.fetch([uid], ["BODYSTRUCTURE", "BODY.PEEK[HEADER]"])[uid]
            structure = first[b"BODYSTRUCTURE"]
            header = first[b"BODY[HEADER]"]
            return assemble_reduced(c, uid, header, structure, size)
        data = self._call("fetch large", fetch)
        log_event(log, "large_message", mailbox=self.name, uid=uid, size=size,
                  fetched=len(data))
        return RawMessage(self.name, self.folder, self._uidvalidity, uid, data,
                          _aware(received), size=size)

    # --- marking ----------------------------------------------------------------------

    def mark_done(self, message: RawMessage, disposition: Disposition) -> None:
        if self.keep_in_place or message.uid is None:
            return
        if message.uidvalidity != self._uidvalidity:
            return  # the folder was recreated meanwhile; the rescan finds the mail again
        self._pending[disposition].append(message.uid)

    def flush(self) -> None:
        for disposition, uids in self._pending.items():
            if uids:
                self._call(f"mark {disposition.value}", functools.partial(
                    self._apply, disposition=disposition))

    def _apply(self, client: IMAPClient, disposition: Disposition) -> None:
        # Read the list inside the retried operation: a reconnect with a new UIDVALIDITY
        # empties it, and nothing must then be moved.
        uids = list(self._pending[disposition])
        if not uids:
            return
        cfg = self.config
        if cfg.flags_only:
            keyword = (cfg.processed_keyword if disposition is Disposition.PROCESSED
                       else cfg.unparsed_keyword)
            client.add_flags(uids, [keyword], silent=True)
        else:
            target = (cfg.processed_folder if disposition is Disposition.PROCESSED
                      else cfg.unparsed_folder)
            if self._can_move:
                client.move(uids, target)
            else:
                client.copy(uids, target)
                client.add_flags(uids, [b"\\Deleted"], silent=True)
                client.uid_expunge(uids)  # exactly these UIDs (UIDPLUS), never a bare EXPUNGE
        self._pending[disposition] = []
        log_event(log, "marked", logging.DEBUG, mailbox=self.name, disposition=disposition.value,
                  count=len(uids))

    def close(self) -> None:
        waiting = sum(len(v) for v in self._pending.values())
        if waiting:
            log_event(log, "moves_abandoned", logging.WARNING, mailbox=self.name, count=waiting,
                      note="recorded; found again and moved on the next poll")
            for uids in self._pending.values():
                uids.clear()
        client, self._client = self._client, None
        if client is not None:
            _quiet_logout(client)

    def __enter__(self) -> ImapMailbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _quiet_logout(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # closing a dead connection must not hide the real error
        with contextlib.suppress(Exception):
            client.shutdown()


def _aware(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None
