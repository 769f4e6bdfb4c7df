//! Earshot's sentiment stage: a multilingual transformer classifier on ONNX Runtime,
//! on its own threads, fed from the database.
//!
//! Not built yet: see the README's "What is not done yet". The crate exists so the
//! workspace has the layout DESIGN.md describes, and so that `crawler` and `sentiment`
//! stay separate crates that meet only in the database.
