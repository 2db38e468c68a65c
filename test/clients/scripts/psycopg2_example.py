"""psycopg2 as Materialize's Python guide uses it: parameters (bound by psycopg2 on the client),
then a SUBSCRIBE read through DECLARE and FETCH inside a transaction. Prints what it saw as JSON."""
import json
import sys

import psycopg2

url = sys.argv[1]
seen = {}
conn = psycopg2.connect(url)
conn.autocommit = True
with conn.cursor() as cur:
    cur.execute("INSERT INTO py_items VALUES (%s, %s)", (7, "seven"))
    cur.execute("SELECT id, name FROM py_items WHERE id = %s", (7,))
    seen["parameters"] = cur.fetchall()

# DECLARE needs a transaction: psycopg2 opens one before the first statement when autocommit is off.
conn.autocommit = False
with conn.cursor() as cur:
    cur.execute("DECLARE c CURSOR FOR SUBSCRIBE (SELECT id, name FROM py_items WHERE id = 7)")
    cur.execute("FETCH ALL c WITH (timeout = '1s')")
    seen["columns"] = [column.name for column in cur.description]
    seen["fetch"] = [[int(row[1]), row[2], row[3]] for row in cur.fetchall()]
conn.commit()
conn.close()
print(json.dumps(seen))
