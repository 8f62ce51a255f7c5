//! mongrate keeps MongoDB databases in line with schemas declared in YAML.
//!
//! Architecture (ARCHITECTURE.md has the whole map, the invariants and where things go):
//!
//! ```text
//! schemas/*.yaml ─spec─▶ checked spec ─spec::to_model─▶ model::Schema ─┐
//!                                                                      ├─normalize─▶ diff ─▶ plan ─▶ render
//! server ─db::inspect─▶ model::Schema ─────────────────────────────────┘                │
//!                                                        db::apply / db::execute ◀──────┘
//! migrations/*.yaml ─migrate─▶ ops::Operation lists ─▶ migrate::runner (changelog + lease lock)
//! ```
//!
//! Pure core (no I/O, no printing): [`yaml`] (the reader of every file), [`spec`] (checks with
//! file:line:column), [`names`], [`model`], [`jsonschema`], [`normalize`], [`diff`], [`plan`],
//! [`ops`], [`render`], [`backfill`] and [`audit`] (the expressions of backfill and
//! `check --data`), [`migrate`] (files, checks, checksums, the run plan, replay, the runner over a
//! `Backend` trait), [`resilience`] (elections and index builds, as decisions), [`redact`],
//! [`progress`]. [`extjson`] converts Extended JSON.
//!
//! I/O: [`db`] is the only code that talks to the driver (connect, inspect, execute, safety
//! checks, backfill batches, audits, fenced changelog and lease lock, migrations, rollout,
//! seed). [`cli`] and [`commands`] parse arguments and are the only code that prints.

pub mod audit;
pub mod backfill;
pub mod cli;
pub mod commands;
pub mod db;
pub mod diff;
pub mod extjson;
pub mod fleet;
pub mod jsonschema;
pub mod lint;
pub mod migrate;
pub mod model;
pub mod names;
pub mod normalize;
pub mod ops;
pub mod plan;
pub mod progress;
pub mod pull;
pub mod redact;
pub mod render;
pub mod resilience;
pub mod shard;
pub mod spec;
pub mod yaml;
