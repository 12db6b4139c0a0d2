//! ship's integration tests: one binary, so the build stays fast on two cores.
//! Every test drives the real `ship` binary against real git repositories in temp dirs.

mod suite;
