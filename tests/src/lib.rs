//! Integration tests of the server live in `tests/api/` (one test binary).
