//! The night: one call through every stage (`pipeline`), thousands of them in parallel and
//! resumable (`batch`, `store`), what a run cost on this machine (`machine`, `batch::cost`), and what the brand reads the next morning (`report`).

#![deny(unsafe_code)]

pub mod batch;
pub mod clips;
pub mod input;
pub mod machine;
pub mod pipeline;
pub mod report;
pub mod store;
