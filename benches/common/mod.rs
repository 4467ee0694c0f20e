//! What every criterion benchmark file shares: the run settings, so
//! `make bench` covers all files in a few minutes with one set of choices.

use criterion::Criterion;
use std::time::Duration;

/// Short runs; the bootstrap runs on one thread (no rayon), so 10k
/// resamples, not 100k, keep the analysis from outlasting the measurement.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .nresamples(10_000)
}
