"""Entry point of the pymap test server process (run as a script by support.pymap_server).

It starts pymap with two adjustments, so it offers what the tests expect from Dovecot on
loopback:
- LOGIN is allowed before STARTTLS (pymap allows it only after STARTTLS when TLS is on;
  Dovecot treats 127.0.0.1 as secure and allows it), while STARTTLS stays offered;
- a second listener speaks implicit TLS on $RETURNPATH_PYMAP_TLS_PORT.
This file imports nothing from the tests, so it runs with only pymap on the path.
"""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import AsyncExitStack
from typing import Any

TLS_PORT_ENV = "RETURNPATH_PYMAP_TLS_PORT"


def _serve() -> None:  # pragma: no cover - runs in the child process
    from proxyprotocol.reader import ProxyProtocolReader
    from pymap.config import IMAPConfig
    from pymap.imap import IMAPServer, IMAPService
    from pymap.main import main

    def initial_auth(self: IMAPConfig) -> Any:
        return self.tls_auth

    IMAPConfig.initial_auth = property(initial_auth)  # type: ignore[assignment,method-assign]

    plain_start = IMAPService.start
    tls_port = int(os.environ.get(TLS_PORT_ENV) or 0)

    async def start(self: IMAPService, stack: AsyncExitStack) -> None:
        await plain_start(self, stack)
        if not tls_port:
            return
        config = self.config
        callback = ProxyProtocolReader(config.proxy_protocol).get_callback(
            IMAPServer(self.backend.login, config)
        )
        server = await asyncio.start_server(
            callback, host=config.host, port=tls_port, ssl=config.ssl_context
        )
        await stack.enter_async_context(server)
        task = asyncio.create_task(server.serve_forever())
        stack.callback(task.cancel)

    IMAPService.start = start  # type: ignore[method-assign]
    sys.argv = ["pymap", *sys.argv[1:]]
    main()


if __name__ == "__main__":
    _serve()
