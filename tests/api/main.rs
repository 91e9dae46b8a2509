//! Integration tests through the real HTTP API on a real port, with a real SQLite file in a
//! temporary directory. See tests/README.md.

mod alert_rules;
mod backup;
mod bad_input;
mod botapi;
mod brake;
mod channels;
mod cli;
mod common;
mod crash;
mod demo;
mod desk_pc;
mod evidence;
mod health;
mod inputs;
mod lan;
mod leaderboard;
mod migrations;
mod network;
mod notify;
mod panels;
#[path = "../support/pg.rs"]
mod pg;
mod powerloss;
mod printed;
mod reasons;
mod reports;
mod samples;
mod serving;
mod sessions;
mod settings_live;
mod setup;
mod smtp;
mod sse;
mod telegram;
mod video;
