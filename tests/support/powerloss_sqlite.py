"""A stand-in for the engine in the power-loss test (tests/api/powerloss.rs): the same WAL
mode, with `synchronous` set as asked, committing one row per transaction and printing
`ack ID` once each commit has returned, until it is killed.

Usage: powerloss_sqlite.py DB init            creates the table
       powerloss_sqlite.py DB run OFF|FULL    inserts and acknowledges until killed
"""

import sqlite3
import sys


def main():
    path, what = sys.argv[1], sys.argv[2]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    if what == "init":
        conn.execute("CREATE TABLE acked (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        conn.close()
        return
    mode = sys.argv[3]
    conn.execute(f"PRAGMA synchronous={mode}")
    got = conn.execute("PRAGMA synchronous").fetchone()[0]
    if got != {"OFF": 0, "FULL": 2}[mode]:
        sys.exit(f"synchronous={mode} was not taken: {got}")
    # Rows about as big as a rating with its audit entry, so the WAL grows and checkpoints.
    body = "x" * 300
    while True:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute("INSERT INTO acked (body) VALUES (?)", (body,)).lastrowid
        conn.execute("COMMIT")
        print(f"ack {row}", flush=True)


if __name__ == "__main__":
    main()
