//! Deterministic demo data (`mfuko seed`, `serve --demo`).
