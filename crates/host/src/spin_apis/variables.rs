//! `spin:variables/variables@3.0.0`: the component's own variables, expanded at start-up.
//!
//! Spin resolves every `get` through its providers, first the environment provider, which
//! reads the environment inside `block_in_place`. The values here are resolved once, but
//! each `get` still blocks in place for that lookup, so that requests are scheduled as
//! under Spin (see `in_place`).

use wasmtime::component::Accessor;

use super::spin::variables::variables::{Error, Host, HostWithStore};
use super::{ComponentGrants, SpinApis, SpinView, in_place};

/// The value of variable `name` for the component with `grants`.
pub(super) fn lookup(grants: &ComponentGrants, name: &str) -> Result<String, Error> {
    // Spin accepts lower-case names only; anything else can never be declared.
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(Error::InvalidName(format!(
            "invalid variable name `{name}`"
        )));
    }
    match grants.variables.get(name) {
        Some(Ok(value)) => Ok(value.clone()),
        Some(Err(reason)) => Err(Error::Undefined(reason.clone())),
        None => Err(Error::Undefined(format!(
            "no variable `{name}` in component `{}`",
            grants.component
        ))),
    }
}

impl<T: Send> HostWithStore<T> for SpinApis {
    async fn get(
        accessor: &Accessor<T, Self>,
        name: String,
    ) -> wasmtime::Result<Result<String, Error>> {
        let value = accessor.with(|mut access| lookup(access.get().grants, &name));
        in_place(move || value).await
    }
}

impl Host for SpinView<'_> {}
