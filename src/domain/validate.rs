//! Field validation shared by the domains: messages collected per field and answered at
//! once as `BAD_USER_INPUT` (`VALIDATION_ERROR` in the REST groups), before anything is
//! stored.

use std::collections::BTreeMap;

use crate::error::{AppError, AppResult};

/// Collects per-field messages; [`Errors::finish`] fails with all of them at once.
#[derive(Default)]
pub struct Errors(BTreeMap<String, Vec<String>>);

impl Errors {
    /// Records a message on `field`.
    pub fn add(&mut self, field: impl Into<String>, msg: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(msg.into());
    }

    /// `BAD_USER_INPUT` with every recorded field, or `Ok` when none.
    ///
    /// # Errors
    /// When any message was recorded.
    pub fn finish(self) -> AppResult<()> {
        AppError::fields(self.0)
    }
}

/// A trimmed name of 1–`max` characters.
pub fn name(errs: &mut Errors, field: &str, value: &str, max: usize) -> String {
    let v = value.trim();
    if v.contains('\0') {
        errs.add(field, "must not contain NUL (U+0000) characters");
    } else if v.is_empty() {
        errs.add(field, "must not be blank");
    } else if v.chars().count() > max {
        errs.add(field, format!("must be at most {max} characters"));
    }
    v.to_owned()
}

/// An optional trimmed text of at most `max` characters (blank = none).
pub fn optional_text(
    errs: &mut Errors,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<String> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    if v.contains('\0') {
        errs.add(field, "must not contain NUL (U+0000) characters");
    } else if v.chars().count() > max {
        errs.add(field, format!("must be at most {max} characters"));
    }
    Some(v.to_owned())
}
