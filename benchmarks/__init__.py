"""Benchmark scripts (accuracy, speed, scale, loss speed); run from the repository root."""
