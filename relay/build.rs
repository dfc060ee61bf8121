//! Tells the integration tests whether a PostgreSQL database is named (`DATABASE_URL`), so
//! their PostgreSQL cases run, or are reported as skipped instead of passing unseen. In CI
//! (`CI` set) it must be named.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_postgres)");
    println!("cargo::rerun-if-env-changed=DATABASE_URL");
    println!("cargo::rerun-if-env-changed=CI");
    let has_postgres = std::env::var("DATABASE_URL").is_ok_and(|url| url.starts_with("postgres"));
    if has_postgres {
        println!("cargo::rustc-cfg=has_postgres");
    } else if std::env::var_os("CI").is_some() {
        panic!("CI must set DATABASE_URL to a PostgreSQL database, so the PostgreSQL cases run");
    }
}
