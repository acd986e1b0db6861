//! Spin's `{{ name }}` templates, as component settings (`variables`,
//! `allowed_outbound_hosts`) use them: parsed here, checked against `[variables]` by the
//! manifest and expanded by `variables`.

use anyhow::bail;

/// One piece of a template: text kept as it is, or a variable to put in its place.
pub(crate) enum Piece<'a> {
    Literal(&'a str),
    Variable(&'a str),
}

/// `template` cut into its pieces; a reference that is not `{{ name }}` with a name of
/// letters, digits and `_` is an error, as in Spin.
pub(crate) fn parse(template: &str) -> anyhow::Result<Vec<Piece<'_>>> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            pieces.push(Piece::Literal(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            bail!("unterminated `{{{{` in `{template}`");
        };
        let name = after[..end].trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("`{{{{ {name} }}}}` in `{template}` is not a variable reference");
        }
        pieces.push(Piece::Variable(name));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Literal(rest));
    }
    Ok(pieces)
}

/// The application variables a template refers to.
pub(crate) fn references(template: &str) -> anyhow::Result<Vec<String>> {
    Ok(parse(template)?
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Variable(name) => Some(name.to_owned()),
            Piece::Literal(_) => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::references;

    #[test]
    fn malformed_templates_are_errors() {
        assert!(references("{{ open").is_err());
        assert!(references("{{ }}").is_err());
        assert!(references("{{ a-b }}").is_err());
        assert_eq!(
            references("https://{{ host }}:{{port}}").unwrap(),
            vec!["host", "port"]
        );
    }
}
