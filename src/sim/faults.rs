//! Seeded, repeatable fault injection: the same seed and request order give the same faults.

use std::sync::Mutex;

use rand::{Rng, SeedableRng};

use super::FaultConfig;

pub struct Faults {
    pub config: FaultConfig,
    rng: Mutex<rand::rngs::StdRng>,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFault {
    None,
    Error,
    Reset,
    Malformed,
}

impl Faults {
    pub fn new(config: FaultConfig, seed: u64) -> Self {
        Faults { config, rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)) }
    }

    fn roll(&self, rate: f64) -> bool {
        if rate <= 0.0 {
            return false;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        rng.gen::<f64>() < rate
    }

    pub fn any_request_faults(&self) -> bool {
        let c = &self.config;
        c.error_rate > 0.0 || c.reset_rate > 0.0 || c.malformed_json_rate > 0.0
    }

    pub fn for_request(&self) -> RequestFault {
        if !self.any_request_faults() {
            return RequestFault::None;
        }
        if self.roll(self.config.reset_rate) {
            RequestFault::Reset
        } else if self.roll(self.config.error_rate) {
            RequestFault::Error
        } else if self.roll(self.config.malformed_json_rate) {
            RequestFault::Malformed
        } else {
            RequestFault::None
        }
    }

    pub fn task_fails(&self) -> bool {
        self.roll(self.config.task_failure_rate)
    }

    pub fn lock_contended(&self) -> bool {
        self.roll(self.config.lock_contention_rate)
    }

    /// A random value from the seeded generator (MAC addresses and the like).
    pub fn random_u32(&self) -> u32 {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        rng.gen()
    }
}
