#!/usr/bin/python3
"""A storing SMTP server for posthaste's interop tests (aiosmtpd, Debian's python3).

    storing_server.py HOST PLAIN_PORT TLS_PORT CERT KEY STORE_DIR USER PASSWORD

PLAIN_PORT offers STARTTLS (required before AUTH and MAIL) and AUTH PLAIN/LOGIN; TLS_PORT is
implicit TLS (smtps://) with the same AUTH. Each message is stored as STORE_DIR/N.eml (the
data as received, dot-unstuffed, CRLF line ends) with STORE_DIR/N.json beside it (the
envelope: mail_from, rcpt_tos, mail_options, rcpt_options), both written to a temporary name
and renamed, so a test never reads half a file. Runs until killed.
"""

import asyncio
import json
import os
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self, folder):
        self.folder = folder
        self.lock = threading.Lock()

    def _next(self):
        with self.lock:
            names = [n for n in os.listdir(self.folder) if n.endswith(".eml")]
            n = 1 + max([int(x[:-4]) for x in names if x[:-4].isdigit()] or [0])
            return n

    async def handle_DATA(self, server, session, envelope):
        n = self._next()
        base = os.path.join(self.folder, str(n))
        data = envelope.original_content
        if data is None:
            data = envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(data)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "rcpt_options": envelope.rcpt_options,
            "auth": bool(session.authenticated),
            "tls": session.ssl is not None,
        }
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 Stored as %d" % n


def main():
    host, plain_port, tls_port, cert, key, folder, user, password = sys.argv[1:9]
    os.makedirs(folder, exist_ok=True)

    def authenticator(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            ok = auth_data.login == user.encode() and auth_data.password == password.encode()
            return AuthResult(success=ok, handled=False)
        return AuthResult(success=False, handled=False)

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    handler = Store(folder)
    common = dict(
        authenticator=authenticator,
        auth_required=True,
        enable_SMTPUTF8=True,
        decode_data=False,
    )
    plain = Controller(
        handler,
        hostname=host,
        port=int(plain_port),
        tls_context=tls,
        require_starttls=True,
        auth_require_tls=True,
        **common,
    )
    implicit = Controller(
        handler,
        hostname=host,
        port=int(tls_port),
        ssl_context=tls,
        server_hostname="localhost",
        # TLS from the first byte: aiosmtpd does not count it as TLS for AUTH.
        auth_require_tls=False,
        **common,
    )
    plain.start()
    implicit.start()
    print("ready", flush=True)
    try:
        threading.Event().wait()
    finally:
        plain.stop()
        implicit.stop()


if __name__ == "__main__":
    main()
