//! The committed SDL is the schema the code builds. `UPDATE_SCHEMA=1` rewrites the file.

use std::path::PathBuf;

#[test]
fn schema_file_matches_the_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/schema.graphql");
    let sdl = crm_graphql::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &sdl).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == sdl,
        "schema/schema.graphql differs from the code's schema; run \
         `UPDATE_SCHEMA=1 cargo test -p crm-graphql` and review the diff"
    );
}
