//! mongrate keeps MongoDB databases in line with schemas declared in YAML.
//!
//! Architecture (see README and DESIGN.md):
//!
//! ```text
//! schemas/*.yaml ─spec─▶ checked spec ─spec::to_model─▶ model::Schema ─┐
//!                                                                      ├─normalize─▶ diff ─▶ plan ─▶ render
//! server ─db::inspect─▶ model::Schema ─────────────────────────────────┘                │
//!                                                        db::apply / db::execute ◀──────┘
//! migrations/*.yaml ─migrate─▶ ops::Operation lists ─▶ migrate::runner (changelog + lease lock)
//! ```
//!
//! Pure core (no I/O, no printing): [`spec`] (checks with file:line:column), [`model`],
//! [`jsonschema`], [`normalize`], [`diff`], [`plan`], [`ops`], [`render`], [`backfill`] and
//! [`audit`] (the expressions of backfill and `check --data`), [`migrate`]'s files, checksums and
//! replay. [`extjson`] converts Extended JSON.
//!
//! I/O: [`db`] is the only code that talks to the driver (connect, inspect, execute, safety
//! checks, backfill batches, audits, changelog, lease lock, seed); [`migrate::runner`] drives
//! migrations through it. [`cli`] and [`commands`] parse arguments and are the only code that
//! prints.

pub mod audit;
pub mod backfill;
pub mod cli;
pub mod commands;
pub mod db;
pub mod diff;
pub mod extjson;
pub mod jsonschema;
pub mod migrate;
pub mod model;
pub mod names;
pub mod normalize;
pub mod ops;
pub mod plan;
pub mod progress;
pub mod redact;
pub mod render;
pub mod spec;
pub mod yaml;
