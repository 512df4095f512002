#!/usr/bin/env python3
"""Medians of a hyperfine --export-json file, each with its ratio to one of them.

    python3 bench/medians.py RESULTS.json FLOOR_NAME
"""
import json
import statistics
import sys

results = {r["command"]: statistics.median(r["times"]) for r in json.load(open(sys.argv[1]))["results"]}
floor = results[sys.argv[2]]
for name, median in results.items():
    print(f"{name:<28} median {median:6.2f} s   / floor {median / floor:5.2f}")
