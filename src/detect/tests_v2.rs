//! Unit tests of detection v2.
use super::*;
use crate::rules::default_rules;
