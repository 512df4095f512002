"""Validates retort's JSON output against docs/output.schema.json.

Usage: validate.py SCHEMA DEFINITION < lines

Each line of stdin is one JSON document (or NDJSON event). It must match the
schema's definition DEFINITION and the schema as a whole. Prints one line per
failure and exits 1 if any; the test in cli/tests/json_schema.rs feeds it the
output of real runs.
"""

import json
import sys

import jsonschema


def main() -> int:
    schema_path, definition = sys.argv[1], sys.argv[2]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    whole = jsonschema.Draft202012Validator(schema)
    only = {key: value for key, value in schema.items() if key != "anyOf"}
    part = jsonschema.Draft202012Validator(only | {"$ref": f"#/$defs/{definition}"})
    failures = 0
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        document = json.loads(line)
        for validator, what in ((part, definition), (whole, "the schema")):
            for error in validator.iter_errors(document):
                failures += 1
                path = "/".join(str(p) for p in error.absolute_path)
                print(f"line {number}: not {what} at /{path}: {error.message}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
