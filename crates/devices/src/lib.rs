//! The hardware at the desk, each kind behind a small trait with a stand-in for tests beside the
//! real one: button remotes and serial boxes (`inputs`), cameras and microphones (`evidence`).
//! Every device runs on its own thread and never holds up storing a rating.

pub mod evidence;
pub mod inputs;
