"""Transform: pure functions, frames in and frames out; no I/O, inputs never mutated."""
