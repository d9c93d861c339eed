#!/usr/bin/env python
"""Engine benchmark (same as `neurosim bench`): python tools/bench_engine.py [--quick]"""
import sys

from neurosim.experiments.bench import main_bench

if __name__ == "__main__":
    sys.exit(main_bench(quick="--quick" in sys.argv))
