//! One file per subcommand: its usage text at the top, glue only.

pub mod batch;
pub mod bench;
pub mod calibrate;
pub mod call;
pub mod coach;
pub mod merge;
pub mod models;
pub mod plan;
pub mod report;
pub mod review;
pub mod script;
pub mod train;
pub mod transcribe;
