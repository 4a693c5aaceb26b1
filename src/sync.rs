//! The one policy for poisoned locks. A worker that panics while holding a lock poisons it;
//! the panic itself already fails the run (scoped threads and rayon re-raise it on the
//! caller), so the other workers take the data as it is rather than panicking a second
//! time with a less useful message.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, poisoned or not.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The data of `m`, poisoned or not.
pub fn into_inner<T>(m: Mutex<T>) -> T {
    m.into_inner().unwrap_or_else(|e| e.into_inner())
}
