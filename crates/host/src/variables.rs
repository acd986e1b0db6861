//! Application variables: values from the environment (`SPIN_VARIABLE_<NAME>`) or manifest
//! defaults, and `{{ name }}` templates in component settings.

use std::collections::BTreeMap;

use anyhow::{Context, bail};

use crate::manifest::{Manifest, VariableDecl};
use crate::template::{self, Piece};

/// Resolved application variable values, by name.
#[derive(Clone, Default)]
pub struct Resolved(BTreeMap<String, String>);

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be secrets: only names are printed.
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Resolved {
    /// Resolves every `[variables]` entry, as `spin up` does with its providers.
    /// `lookup(name, env_name)` gives a provided value (`env_name` is `SPIN_VARIABLE_<NAME>`);
    /// otherwise the default applies, and a required variable without either is an error.
    pub fn from_manifest(
        decls: &BTreeMap<String, VariableDecl>,
        lookup: impl Fn(&str, &str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let mut values = BTreeMap::new();
        let mut missing = Vec::new();
        for (name, decl) in decls {
            let env_name = format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase());
            match lookup(name, &env_name).or_else(|| decl.default.clone()) {
                Some(value) => {
                    values.insert(name.clone(), value);
                }
                None if decl.required => missing.push(format!("`{name}` (set {env_name})")),
                // Not required and no default: the variable exists but `get` fails, as in Spin.
                None => {}
            }
        }
        if !missing.is_empty() {
            bail!("required variables have no value: {}", missing.join(", "));
        }
        Ok(Self(values))
    }

    /// Every variable's value, by name (a variable with neither value nor default has none).
    pub fn values(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// Expands `{{ name }}` references in `template`.
    pub fn expand(&self, template: &str) -> anyhow::Result<String> {
        let mut out = String::with_capacity(template.len());
        for piece in template::parse(template)? {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Variable(name) => out.push_str(
                    self.0
                        .get(name)
                        .with_context(|| format!("variable `{name}` has no value"))?,
                ),
            }
        }
        Ok(out)
    }
}

/// The variables a component may read, with their values already expanded. A variable whose
/// template cannot be expanded keeps the error, reported when the guest asks for it.
pub fn component_variables(
    manifest: &Manifest,
    component: &str,
    resolved: &Resolved,
) -> BTreeMap<String, Result<String, String>> {
    manifest.components[component]
        .variables
        .iter()
        .map(|(name, template)| {
            let value = resolved.expand(template).map_err(|e| format!("{e:#}"));
            (name.clone(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decls(entries: &[(&str, Option<&str>, bool)]) -> BTreeMap<String, VariableDecl> {
        entries
            .iter()
            .map(|(name, default, required)| {
                (
                    name.to_string(),
                    VariableDecl {
                        default: default.map(str::to_owned),
                        required: *required,
                        ..Default::default()
                    },
                )
            })
            .collect()
    }

    #[test]
    fn the_environment_overrides_defaults() {
        let resolved = Resolved::from_manifest(
            &decls(&[("greeting", Some("hi"), false), ("name", Some("x"), false)]),
            |_, env| (env == "SPIN_VARIABLE_GREETING").then(|| "hello".to_owned()),
        )
        .unwrap();
        assert_eq!(
            resolved.expand("{{ greeting }}, {{name}}!").unwrap(),
            "hello, x!"
        );
    }

    #[test]
    fn a_required_variable_without_a_value_names_itself_and_its_env_var() {
        let err = Resolved::from_manifest(&decls(&[("api_key", None, true)]), |_, _| None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("api_key") && err.contains("SPIN_VARIABLE_API_KEY"),
            "{err}"
        );
    }

    #[test]
    fn debug_output_hides_values() {
        let resolved =
            Resolved::from_manifest(&decls(&[("secret", Some("s3cr3t"), false)]), |_, _| None)
                .unwrap();
        assert!(!format!("{resolved:?}").contains("s3cr3t"));
    }
}
