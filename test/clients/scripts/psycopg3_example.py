"""psycopg 3 as Materialize's Python guide uses it: server-side parameters, binary results, a
SUBSCRIBE read with DECLARE/FETCH, and `for row in cur.stream("SUBSCRIBE …")` (the extended
protocol in single-row mode) while another connection writes. Prints what it saw as JSON."""
import json
import sys
import threading
import time

import psycopg

url = sys.argv[1]
seen = {}
with psycopg.connect(url, autocommit=True) as conn:
    seen["server_version"] = conn.info.server_version
    seen["parameters"] = list(conn.execute("SELECT %s::int + 1 AS next, %s::text AS label", (41, "x")).fetchone())
    with conn.cursor(binary=True) as cur:
        cur.execute("SELECT 7::int4 AS i, 'seven'::text AS t, 2.5::float8 AS f, true AS b, '{\"b\": 2, \"a\": 1}'::jsonb AS j")
        row = cur.fetchone()
        seen["binary"] = {"values": list(row), "formats": [cur.pgresult.fformat(i) for i in range(5)]}

with psycopg.connect(url) as conn:  # not autocommit: psycopg begins a transaction, as DECLARE needs
    cur = conn.cursor()
    cur.execute("DECLARE c CURSOR FOR SUBSCRIBE (SELECT id, name FROM py_items WHERE id = 7)")
    cur.execute("FETCH ALL c WITH (timeout = '1s')")
    seen["fetch"] = [[row[1], row[2], row[3]] for row in cur.fetchall()]
    conn.commit()


def insert_later():
    time.sleep(0.3)
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("INSERT INTO py_items VALUES (%s, %s)", (8, "eight"))


with psycopg.connect(url, autocommit=True) as conn:
    threading.Thread(target=insert_later).start()
    streamed = []
    cur = conn.cursor()
    for row in cur.stream("SUBSCRIBE (SELECT id, name FROM py_items WHERE id >= 7)"):
        streamed.append([row[1], row[2], row[3]])
        if len(streamed) == 2:
            break
    seen["stream"] = streamed
print(json.dumps(seen))
