//! (placeholder until this module is written; replace this file entirely)
