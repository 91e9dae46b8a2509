#!/usr/bin/env python3
"""A real SMTP server for tests (aiosmtpd 1.4.6): STARTTLS and AUTH required.

    python smtp_server.py --port P --cert C --key K --user U --password PW --out DIR

Port 0 picks a free one. Prints `READY <port>` once listening. Every accepted message is
written to DIR/NNNN.json (temp file, then rename), parsed by Python's own `email` package:
mail_from, rcpt_tos, subject, from, to, text, html, attachments [{filename, content_type, size,
sha256, saved}], auth_user, tls, received_at (text and html with CRLF turned into LF). Each
attachment's bytes are kept as DIR/files/<sha256> (`saved`), for tests to open.

Commands on stdin, each answered `OK <cmd>` on stdout:
  refuse   new connections and commands get `421 Service not available`; nothing is stored
  slow N   wait N seconds in DATA before accepting
  ok       back to normal
  stop     stop listening (connections to the port are refused)
  start    listen again on the same port
End of stdin stops the server and exits.
"""

import argparse
import asyncio
import datetime
import email
import email.policy
import hashlib
import json
import os
import ssl
import sys
import logging
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

REFUSED = "421 Service not available"

# aiosmtpd sets the deprecated Session.login_data itself on every login, and logs that.
logging.getLogger("mail.log").addFilter(lambda r: "login_data" not in r.getMessage())


class State:
    def __init__(self):
        self.refuse = False
        self.slow = 0.0
        self.seq = 0
        self.lock = threading.Lock()


STATE = State()


def parse_message(raw: bytes, out_dir: str) -> dict:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    attachments = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if part.get_content_disposition() != "attachment" and filename is None:
            continue
        payload = part.get_payload(decode=True) or b""
        digest = hashlib.sha256(payload).hexdigest()
        files = os.path.join(out_dir, "files")
        os.makedirs(files, exist_ok=True)
        saved = os.path.join(files, digest)
        with open(saved + ".tmp", "wb") as f:
            f.write(payload)
        os.replace(saved + ".tmp", saved)
        attachments.append(
            {
                "filename": filename,
                "content_type": part.get_content_type(),
                "size": len(payload),
                "sha256": digest,
                "saved": saved,
            }
        )
    def content(part):
        # SMTP carries CRLF line ends; give the text as it was written.
        return part.get_content().replace("\r\n", "\n") if part is not None else None

    return {
        "subject": str(msg["subject"]) if msg["subject"] is not None else None,
        "from": str(msg["from"]) if msg["from"] is not None else None,
        "to": str(msg["to"]) if msg["to"] is not None else None,
        "message_id": str(msg["message-id"]) if msg["message-id"] is not None else None,
        "text": content(text_part),
        "html": content(html_part),
        "attachments": attachments,
    }


class Handler:
    def __init__(self, out_dir: str):
        self.out_dir = out_dir

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if STATE.refuse:
            return REFUSED
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if STATE.refuse:
            return REFUSED
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if STATE.slow > 0:
            await asyncio.sleep(STATE.slow)
        if STATE.refuse:
            return REFUSED
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        record = parse_message(raw, self.out_dir)
        record.update(
            {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "auth_user": session.auth_data if session.authenticated else None,
                "tls": session.ssl is not None,
                "received_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            }
        )
        with STATE.lock:
            STATE.seq += 1
            name = "%04d.json" % STATE.seq
            tmp = os.path.join(self.out_dir, "." + name + ".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(record, f, ensure_ascii=False, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, os.path.join(self.out_dir, name))
        return "250 OK"


class RefusingSMTP(SMTP):
    """Answers a new connection with 421 and closes it while the server refuses."""

    async def _handle_client(self):
        if STATE.refuse:
            await self.push(REFUSED)
            if self.transport is not None:
                self.transport.close()
            return
        await super()._handle_client()


class TestController(Controller):
    def factory(self):
        return RefusingSMTP(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self):
        # With port 0 the real port is only known once bound.
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == args.user.encode()
            and auth_data.password == args.password.encode()
        )
        login = auth_data.login.decode("utf-8", "replace") if ok else None
        # handled=False: aiosmtpd answers 535 itself; handled=True would leave the client waiting.
        return AuthResult(success=ok, handled=False, auth_data=login)

    handler = Handler(args.out)
    port = args.port

    def make():
        return TestController(
            handler,
            hostname="127.0.0.1",
            port=port,
            tls_context=ctx,
            require_starttls=True,
            authenticator=authenticator,
            auth_required=True,
            auth_require_tls=True,
        )

    controller = make()
    controller.start()
    port = controller.port

    def say(line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    say("READY %d" % port)
    for line in sys.stdin:
        cmd = line.strip()
        if not cmd:
            continue
        words = cmd.split()
        if words[0] == "refuse":
            STATE.refuse = True
        elif words[0] == "ok":
            STATE.refuse = False
            STATE.slow = 0.0
        elif words[0] == "slow" and len(words) == 2:
            STATE.slow = float(words[1])
        elif words[0] == "stop":
            if controller is not None:
                controller.stop()
                controller = None
        elif words[0] == "start":
            if controller is None:
                controller = make()
                controller.start()
        else:
            say("ERR unknown command %s" % cmd)
            continue
        say("OK " + cmd)
    if controller is not None:
        controller.stop()


if __name__ == "__main__":
    main()
