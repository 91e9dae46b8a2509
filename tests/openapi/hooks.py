"""Schemathesis hooks: keep the fuzzed engine's outgoing traffic on loopback and its files in
the test's folder.

Settings and notification bodies name places the engine then reaches: the Bot API, the SMTP
host, the webhook, an IP camera, a serial port, the backup folder, a hub or a reception. Whatever string was generated
there is replaced, just before the request is sent, by one that stays local (a closed port on
127.0.0.1, a path in OTKLIK_FUZZ_DIR). A value of another type is left as it is: the engine must
still refuse it with a 4xx.
"""

import os

import schemathesis

SAFE_DIR = os.environ["OTKLIK_FUZZ_DIR"]
# Port 9 (discard) on loopback: nothing listens there, a connection is refused at once.
LOCAL_URL = "http://127.0.0.1:9/"
LOCAL = {
    "api_url": LOCAL_URL,
    "webhook_url": LOCAL_URL,
    # A desk PC's pairing calls the reception at once.
    "reception_url": LOCAL_URL,
    # Linking to a network hub starts sending to it at once.
    "hub_url": LOCAL_URL,
    "url": LOCAL_URL,
    "host": "127.0.0.1",
    "backup_dir": SAFE_DIR,
    "path": os.path.join(SAFE_DIR, "no-such-port"),
    "ca_file": os.path.join(SAFE_DIR, "no-such-ca.pem"),
}


def _localise(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key in LOCAL and isinstance(item, str) and item.strip():
                value[key] = LOCAL[key]
            else:
                _localise(item)
    elif isinstance(value, list):
        for item in value:
            _localise(item)


@schemathesis.hook
def before_call(context, case, kwargs):
    _localise(case.body)
