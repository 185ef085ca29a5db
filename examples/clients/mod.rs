//! Example clients (reqwest), a webhook handler (axum) and a webhook sender, written the
//! way a project would write them, plus the switches that give each one exactly one flaw.

pub mod flaw;
pub mod generic;
pub mod payments;
pub mod tracker;
pub mod transport;
pub mod webhooks;
