//! The `migplan` binary.
fn main() {}
