//! Supervisor reports over any period, and their exports.

pub mod export;
pub mod figures;
pub mod render;
pub mod table;
