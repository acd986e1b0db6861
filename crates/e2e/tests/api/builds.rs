//! The two builds (docs/builds.md): `spin-wasi02.toml` is `spin.toml` with other
//! sources, and each build's components export the handler, and import only the interfaces,
//! of the Spin versions it is for. docs/builds.md's table of each build's world is rendered here
//! from the built `.wasm` files, so it cannot drift from them.

use std::collections::{BTreeMap, BTreeSet};

use crate::helpers::{Build, build_components, workspace_root};

/// The components of a manifest, as TOML tables by id.
fn components(build: Build) -> toml::Table {
    let path = workspace_root().join(build.manifest());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut manifest: toml::Table = toml::from_str(&text).expect("a TOML manifest");
    match manifest.remove("component") {
        Some(toml::Value::Table(components)) => components,
        other => panic!("{}: no [component.*] tables: {other:?}", build.manifest()),
    }
}

/// A component's imports and exports, by name, read from its `.wasm`.
fn interfaces(build: Build, component: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let source = components(build)[component]["source"]
        .as_str()
        .expect("a source path")
        .to_owned();
    let mut config = wasmtime::Config::new();
    config.wasm_component_model_async(true);
    let engine = wasmtime::Engine::new(&config).expect("engine");
    let wasm = wasmtime::component::Component::from_file(&engine, workspace_root().join(&source))
        .unwrap_or_else(|e| panic!("{source}: {e}"));
    let ty = wasm.component_type();
    let imports = ty
        .imports(&engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let exports = ty
        .exports(&engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    (imports, exports)
}

/// The Spin interfaces spin-sdk 5 imports, beyond WASI 0.2, and the Spin release that
/// first serves all of them: `spin:postgres@4.0.0` arrived in Spin 3.4.
const SPIN_3_4_INTERFACES: [&str; 4] = [
    "fermyon:spin/key-value@2.0.0",
    "fermyon:spin/sqlite@2.0.0",
    "fermyon:spin/variables@2.0.0",
    "spin:postgres/postgres@4.0.0",
];

/// The component the WASI 0.3 build chains registrations to; the WASI 0.2 build has none.
const REGISTRATION: &str = "registration";
/// The URL the users component chains registrations to (WASI 0.3 build).
const REGISTRATION_URL: &str = "http://registration.spin.internal";

/// `spin-wasi02.toml` is `spin.toml` with other sources and builds, and one change more
/// (docs/builds.md): no `registration` component or private route, because the users
/// component registers users itself there, with exactly the registration component's grants
/// added to its own and no chaining.
#[test]
fn the_wasi02_manifest_is_the_default_one_with_other_sources() {
    let (mut wasi03, mut wasi02) = (components(Build::Wasi03), components(Build::Wasi02));
    let registration = wasi03
        .remove(REGISTRATION)
        .expect("the WASI 0.3 build's registration component");
    assert_eq!(
        wasi03.keys().collect::<Vec<_>>(),
        wasi02.keys().collect::<Vec<_>>()
    );
    for (id, component) in &mut wasi02 {
        let component = component.as_table_mut().expect("a component table");
        assert_eq!(
            component
                .remove("source")
                .and_then(|s| s.as_str().map(str::to_owned)),
            Some(format!("target/wasi02/wasm32-wasip2/release/{id}.wasm")),
        );
        let build = component.remove("build").expect("a build section");
        assert_eq!(
            build["command"].as_str(),
            Some(&*format!(
                "cargo build --target wasm32-wasip2 --release -p {id} \
                 --no-default-features --features wasi02 --target-dir target/wasi02"
            )),
        );
        let default = wasi03[id].as_table_mut().expect("a component table");
        default.remove("source");
        default.remove("build");
        if id == "users" {
            assert_eq!(
                grants(component),
                registering_users_grants(default, &registration),
                "the WASI 0.2 users component has the users and registration grants"
            );
        } else {
            assert_eq!(component, default, "component `{id}`: grants differ");
        }
    }

    // Everything outside the components (variables, application, routes) is the same too,
    // but for the registration component's private route.
    let whole = |build: Build| {
        let text =
            std::fs::read_to_string(workspace_root().join(build.manifest())).expect("the manifest");
        let mut manifest: toml::Table = toml::from_str(&text).expect("TOML");
        manifest.remove("component");
        if let Some(routes) = manifest
            .get_mut("trigger")
            .and_then(|t| t.get_mut("http"))
            .and_then(toml::Value::as_array_mut)
        {
            routes.retain(|route| route["component"].as_str() != Some(REGISTRATION));
        }
        manifest
    };
    assert_eq!(whole(Build::Wasi03), whole(Build::Wasi02));
}

/// A manifest file as TOML, comments aside.
fn manifest_table(file: &str) -> toml::Table {
    let text = std::fs::read_to_string(workspace_root().join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// `spin-wasi02.toml` as a hosted platform with one key-value store needs it: each
/// component that keeps something in key-value granted `default` alone and keeping its
/// entries there under prefixes (`key_value_layout = "single"`), photos in the database by
/// default; and for a platform without SQLite, no SQLite grants and a PostgreSQL required.
fn for_one_store(mut manifest: toml::Table, sqlite: bool) -> toml::Table {
    let variables = manifest["variables"].as_table_mut().expect("[variables]");
    variables["photo_store"]["default"] = "database".into();
    if !sqlite {
        variables["database_url"] = toml::toml! { required = true
        secret = true }
        .into();
        variables["postgres_host"] = toml::toml! { required = true }.into();
    }
    for (_, component) in manifest["component"]
        .as_table_mut()
        .expect("[component.*]")
        .iter_mut()
    {
        let component = component.as_table_mut().expect("a component table");
        if component.contains_key("key_value_stores") {
            component["key_value_stores"] = toml::Value::Array(vec!["default".into()]);
            component["variables"]["key_value_layout"] = "single".into();
        }
        if !sqlite {
            component.remove("sqlite_databases");
        }
    }
    manifest
}

/// `spin-akamai.toml` and `spin-fermyon-cloud.toml` are `spin-wasi02.toml` with exactly what
/// their platform needs (`for_one_store`), so every other grant, route and variable stays
/// the tested one.
#[test]
fn each_hosted_platforms_manifest_is_the_wasi02_one_with_what_its_platform_needs() {
    let wasi02 = manifest_table("spin-wasi02.toml");
    assert_eq!(
        manifest_table("spin-akamai.toml"),
        for_one_store(wasi02.clone(), false),
        "spin-akamai.toml"
    );
    assert_eq!(
        manifest_table("spin-fermyon-cloud.toml"),
        for_one_store(wasi02, true),
        "spin-fermyon-cloud.toml"
    );
}

/// A component's grants: each list as a set, and its variables.
fn grants(component: &toml::Table) -> BTreeMap<String, BTreeSet<String>> {
    let mut grants = BTreeMap::new();
    for key in [
        "key_value_stores",
        "sqlite_databases",
        "allowed_outbound_hosts",
    ] {
        let values = component
            .get(key)
            .and_then(toml::Value::as_array)
            .map(|values| {
                values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        grants.insert(key.to_owned(), values);
    }
    let variables = component
        .get("variables")
        .and_then(toml::Value::as_table)
        .map(|vars| vars.iter().map(|(k, v)| format!("{k} = {v}")).collect())
        .unwrap_or_default();
    grants.insert("variables".to_owned(), variables);
    grants
}

/// The WASI 0.3 users component's grants with the registration component's added and the
/// chaining URL taken away: what a users component that registers users itself needs.
fn registering_users_grants(
    users: &toml::Table,
    registration: &toml::Value,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut merged = grants(users);
    let registration = grants(registration.as_table().expect("a component table"));
    for (key, values) in registration {
        merged.entry(key).or_default().extend(values);
    }
    if let Some(hosts) = merged.get_mut("allowed_outbound_hosts") {
        hosts.remove(REGISTRATION_URL);
    }
    merged
}

#[test]
fn the_wasi03_build_exports_the_wasi_0_3_handler() {
    build_components(Build::Wasi03);
    for id in components(Build::Wasi03).keys() {
        let (_, exports) = interfaces(Build::Wasi03, id);
        assert_eq!(
            exports,
            BTreeSet::from(["wasi:http/handler@0.3.0".to_owned()]),
            "{id}"
        );
    }
}

#[test]
fn the_wasi02_build_exports_the_wasi_0_2_handler_and_imports_what_spin_3_4_serves() {
    build_components(Build::Wasi02);
    for id in components(Build::Wasi02).keys() {
        let (imports, exports) = interfaces(Build::Wasi02, id);
        assert_eq!(
            exports,
            BTreeSet::from(["wasi:http/incoming-handler@0.2.0".to_owned()]),
            "{id}"
        );
        let beyond: Vec<_> = imports
            .iter()
            .filter(|name| !is_wasi_0_2(name) && !SPIN_3_4_INTERFACES.contains(&name.as_str()))
            .collect();
        assert!(beyond.is_empty(), "{id} imports {beyond:?}");
    }
}

/// A WASI 0.2.x interface (`wasi:<package>/<interface>@0.2.<patch>`): any patch release
/// links, since hosts match imports to the 0.2 version they have.
fn is_wasi_0_2(name: &str) -> bool {
    name.strip_prefix("wasi:")
        .and_then(|rest| rest.split_once('@'))
        .is_some_and(|(_, version)| version.starts_with("0.2."))
}

/// Where docs/builds.md keeps the generated table of each build's world.
const TABLE_BEGIN: &str = "<!-- builds.rs: worlds begin -->";
const TABLE_END: &str = "<!-- builds.rs: worlds end -->";

#[test]
fn docs_list_each_builds_world_as_the_wasm_files_have_it() {
    let mut rendered = String::new();
    for build in [Build::Wasi03, Build::Wasi02] {
        build_components(build);
        rendered += &format!(
            "\n{} build (`{}`):\n\n| component | exports | imports |\n|---|---|---|\n",
            match build {
                Build::Wasi03 => "WASI 0.3",
                Build::Wasi02 => "WASI 0.2",
            },
            build.manifest()
        );
        for id in components(build).keys() {
            let (imports, exports) = interfaces(build, id);
            rendered += &format!(
                "| `{id}` | {} | {} |\n",
                grouped(&exports),
                grouped(&imports)
            );
        }
    }
    rendered.push('\n');

    let path = workspace_root().join("docs").join("builds.md");
    let doc = std::fs::read_to_string(&path).expect("docs/builds.md");
    let (before, rest) = doc.split_once(TABLE_BEGIN).expect("the begin marker");
    let (listed, after) = rest.split_once(TABLE_END).expect("the end marker");
    if listed == rendered {
        return;
    }
    // UPDATE_README=1 writes the table the artifacts have into docs/builds.md.
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(
            &path,
            format!("{before}{TABLE_BEGIN}{rendered}{TABLE_END}{after}"),
        )
        .expect("writing docs/builds.md");
        return;
    }
    panic!("docs/builds.md lists other worlds than the .wasm files have; they have:\n{rendered}");
}

/// Interface names, one package and version per line: `wasi:cli/{exit,stderr}@0.2.6`.
fn grouped(names: &BTreeSet<String>) -> String {
    let mut packages: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for name in names {
        let (path, version) = name.split_once('@').unwrap_or((name, ""));
        let (package, interface) = path.split_once('/').unwrap_or((path, ""));
        packages
            .entry((package, version))
            .or_default()
            .push(interface);
    }
    packages
        .into_iter()
        .map(
            |((package, version), interfaces)| match interfaces.as_slice() {
                [one] => format!("`{package}/{one}@{version}`"),
                many => format!("`{package}/{{{}}}@{version}`", many.join(",")),
            },
        )
        .collect::<Vec<_>>()
        .join("<br>")
}
