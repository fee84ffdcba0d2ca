"""Benchmark harness: data generator, operations, PostGraphile peer, load driver (issue #9)."""
