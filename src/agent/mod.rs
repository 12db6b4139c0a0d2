//! The agent and its protocol: everything that crosses from the deploying ship to a target.
//!
//! A target is always served by `ship agent`: a child process over pipes for `local:`
//! targets, the same binary started over OpenSSH for `ssh://` ones. Both speak the one
//! protocol, and [`handle`] is the one implementation of every on-target operation.
//!
//! - [`protocol`]: the messages ([`Request`](protocol::Request), [`Reply`](protocol::Reply))
//!   and how they travel (line-delimited JSON, artifact bytes after their announcement);
//! - `server`: `ship agent`, which serves requests on a [`Site`](crate::release::Site);
//! - `client`: [`Target`], one connection seen from the deploying ship, with typed calls;
//! - `session`: that connection to a child process or through ssh;
//! - `bootstrap`: starting the agent on a host, uploading this build when it lacks it.

mod bootstrap;
mod client;
pub mod protocol;
mod server;
mod session;

pub use bootstrap::{AgentUpload, agent_upload};
pub use client::{Supply, Target, Upload, connect};
pub use server::{handle, serve};
