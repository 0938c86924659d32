//! `cargo run -p onetable-local`: starts one DynamoDB Local for several test binaries
//! (or a whole `cargo test` run) and keeps it until this process is stopped.
//!
//! ```sh
//! cargo run -p onetable-local > /tmp/dynamodb-local.env &
//! export $(cat /tmp/dynamodb-local.env)   # ONETABLE_DYNAMODB_ENDPOINT=http://127.0.0.1:…
//! cargo test                              # every test binary shares that instance
//! kill %1                                 # stops it (java goes with this process)
//! ```

fn main() -> std::process::ExitCode {
    let local = match onetable_local::DynamoDbLocal::start() {
        Ok(local) => local,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("{}={}", onetable_local::ENDPOINT_VARIABLE, local.endpoint());
    eprintln!(
        "DynamoDB Local answers at {} (java pid {}); stop this process to stop it",
        local.endpoint(),
        local.pid().unwrap_or_default()
    );
    // Nothing to do but wait: however this process ends, java ends with it.
    loop {
        std::thread::park();
    }
}
