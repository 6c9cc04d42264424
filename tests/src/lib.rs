//! Integration tests of the server live in `tests/tests/api/` (one test
//! binary, `main.rs` declaring its modules); the clients frontend developers
//! use are driven from `tests/js/`, and the generated client's operations are
//! in `tests/graphql/`.
