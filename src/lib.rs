//! mongrate keeps MongoDB databases in line with schemas declared in YAML.
//!
//! Architecture (see DESIGN.md):
//! - [`spec`]: reads `schemas/<db>/<collection>.yaml`, checks it (every problem with
//!   file:line:column) and keeps the checked form (fields, defaults, indexes, options).
//! - [`model`]: the canonical plain data both the spec and a live server become.
//! - [`jsonschema`]: spec fields → the `$jsonSchema` validator document.
//! - [`extjson`]: MongoDB Extended JSON in and out (fixtures, printing).
//! - [`db`]: the only code that talks to the driver (connect, seed).
//! - [`cli`] and [`commands`]: argument parsing and one module per command; the only code that
//!   prints.
//!
//! The core (`spec`, `model`, `jsonschema`) does no I/O besides reading spec files in
//! `spec::read_root`, and never prints.

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
pub mod normalize;
pub mod ops;
pub mod plan;
pub mod render;
pub mod spec;
