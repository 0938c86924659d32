//! `onetable status | schema`: the migration history and schema of any table
//! (`cargo install onetable --features cli`).

fn main() -> std::process::ExitCode {
    onetable::migrate::cli::inspect()
}
