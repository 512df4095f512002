#!/usr/bin/env python3
"""Seeds each fuzz target's corpus from the repository's fixtures.

Usage: python3 fuzz/seed.py CORPUS_ROOT   (run by fuzz/run.sh)

Seeds are named by their content hash, so running it again adds nothing twice.
"""

import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def add(root, target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = os.path.join(root, target)
    os.makedirs(folder, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)


SQL_SNIPPETS = [
    "CREATE TABLE a (x text DEFAULT ';');\n-- c; \nINSERT INTO a VALUES ('it''s; fine'); /* b; */ SELECT \"we;ird\"",
    "CREATE FUNCTION f() RETURNS trigger AS $body$\nBEGIN\n  RETURN NEW;\nEND;\n$body$ LANGUAGE plpgsql;\nSELECT E'it\\'s; ok', $$x;y$$, $1;",
    "/* a /* b; */ c; */ SELECT 1; SELECT 2",
    "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 'a\\';b'; END //\nDELIMITER ;\nSELECT `a;b` FROM t; # c;\n",
    "SELECT 1; DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END //  delimiter ;\nSELECT 2;",
    "CREATE TABLE [a;b] (x int);\nGO\nCREATE PROCEDURE p AS BEGIN SELECT 1; END\ngo 2\n",
    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET x = CASE WHEN x > 1 THEN 1 ELSE 2 END;\nEND;\nSELECT 2;",
    "INSERT INTO t VALUES ('line1\r\nline2') -- note\n;\nSELECT 1 /* unclosed",
]


def main():
    root = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("sql", "py"):
            out = os.path.join(tmp, fmt)
            subprocess.run([sys.executable, os.path.join(REPO, "bench", "gen_history.py"), "40", out,
                            "--format", fmt, "--heads", "2"], check=True, stdout=subprocess.DEVNULL)
            for path in sorted(glob.glob(os.path.join(out, "versions", "*." + fmt))):
                text = open(path, encoding="utf-8").read()
                add(root, "sql_header" if fmt == "sql" else "py_reader", text)
                if fmt == "sql":
                    for flavor in range(4):
                        add(root, "split", bytes([flavor]) + text.encode())
            add(root, "config", open(os.path.join(out, "retort.toml"), encoding="utf-8").read())
    for snippet in SQL_SNIPPETS:
        for flavor in range(4):
            add(root, "split", bytes([flavor]) + snippet.encode())
        add(root, "sql_header", "-- Revision ID: a1\n-- Revises:\n\n-- migrate:up\n" + snippet + "\n-- migrate:down\n")
    for case in json.load(open(os.path.join(REPO, "tests", "conformance", "fixtures_py", "py_reader.json"))):
        add(root, "py_reader", case["source"])
    for path in sorted(glob.glob(os.path.join(REPO, "tests", "conformance", "fixtures", "*.json"))):
        for check in json.load(open(path)).get("checks", []):
            for key in ("spec", "target"):
                if isinstance(check.get(key), str):
                    add(root, "spec", check[key])
    for path in glob.glob(os.path.join(REPO, "**", "*.toml"), recursive=True):
        if "/target/" not in path and "/vendor/" not in path:
            add(root, "config", open(path, encoding="utf-8").read())
    add(root, "config", '[databases.app]\nurl = "postgres://app:s3cretpw@db/app"\nversion_table = ""\n')
    add(root, "config", '[fleets.t]\nurl = "postgres://u:hunter22@h/{tenant}"\nnames = ["a", "b"]\n')


if __name__ == "__main__":
    main()
