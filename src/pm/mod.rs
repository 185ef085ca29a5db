//! PM write-back, the seed's PM-tool integration as it applies to a test harness: the
//! ticket the work comes from is found (`ticket`), each round's verdict is written back to
//! it once (`comment`'s marker, `writeback`), through the tracker `pm.yaml` names
//! (`config`, `tracker`: GitHub Issues, Jira, Linear, directly or through an MCP server, `mcp`), and what cannot be written now is
//! kept in the checkpoint for later (`deferred`). It is enrichment, never load-bearing: no
//! failure here fails a test run.

pub mod comment;
pub mod config;
pub mod deferred;
pub mod github;
pub mod jira;
pub mod linear;
pub mod mcp;
pub mod ticket;
pub mod tracker;
pub mod writeback;

pub use config::{PmConfig, Provider};
pub use ticket::Ticket;
pub use tracker::{Api, Failure, Kind, Tracker};
pub use writeback::{Settings, after_run, notes_in};
