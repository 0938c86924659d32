//! `onetable status | schema`: the migration history and `_Schema` item of any table
//! (`cargo install onetable-cli`).

fn main() -> std::process::ExitCode {
    onetable_migrate::cli::inspect()
}
