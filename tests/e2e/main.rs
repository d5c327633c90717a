//! End-to-end tests: the real `migplan` binary against the real emulator.
