//! A tiny DynamoDB stand-in for measuring clients alone: an HTTP/1.1 server that
//! answers every request with a canned response chosen by its `x-amz-target`, doing
//! no work a client would wait for. With it on one core and a client on the other,
//! the client's own CPU is the limit, whatever the language.

use super::workload::{asks_for_absent, user_json, PARTITIONS};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

/// Canned bodies by operation name.
struct Responses {
    get: Vec<u8>,
    query: Vec<u8>,
}

impl Responses {
    fn new() -> Responses {
        // A find of a partition returns 100 of its users, as DynamoDB Local would.
        let page: Vec<String> = (0..100).map(|n| user_json(n * PARTITIONS)).collect();
        Responses {
            get: format!(r#"{{"Item":{}}}"#, user_json(1)).into_bytes(),
            query: format!(r#"{{"Items":[{}],"Count":100,"ScannedCount":100}}"#, page.join(",")).into_bytes(),
        }
    }

    /// The answer to a request: by its operation, and no item for a get of the user
    /// `workload::ABSENT` (the least a get costs a client, see `raw::run`).
    fn body(&self, target: &str, request: &[u8]) -> &[u8] {
        match target.rsplit('.').next().unwrap_or_default() {
            "GetItem" if asks_for_absent(request) => b"{}",
            "GetItem" => &self.get,
            "Query" => &self.query,
            _ => b"{}",
        }
    }
}

/// Serves until the process is killed: a thread per connection (clients keep 16
/// connections alive), so no request waits on another.
pub fn serve(listener: TcpListener) -> ! {
    let responses = Arc::new(Responses::new());
    for stream in listener.incoming().flatten() {
        let responses = responses.clone();
        std::thread::spawn(move || {
            let _ = connection(stream, &responses);
        });
    }
    unreachable!("a listener's incoming connections never end")
}

fn connection(stream: TcpStream, responses: &Responses) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut out = Vec::new();
    while let Some((_, target, request)) = read_request(&mut reader)? {
        let answer = responses.body(&target, &request);
        out.clear();
        write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n",
            answer.len()
        )?;
        out.extend_from_slice(answer);
        writer.write_all(&out)?;
    }
    Ok(())
}

/// One request: its head as received, its `x-amz-target`, its body.
pub(super) type Request = (Vec<u8>, String, Vec<u8>);

/// The next request of a connection; `None` at its end.
pub(super) fn read_request(reader: &mut impl BufRead) -> std::io::Result<Option<Request>> {
    let mut head = Vec::new();
    let (mut line, mut length, mut target) = (String::new(), 0usize, String::new());
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    head.extend_from_slice(line.as_bytes());
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        head.extend_from_slice(line.as_bytes());
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else { continue };
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().unwrap_or(0);
        } else if name.eq_ignore_ascii_case("x-amz-target") {
            target = value.trim().to_owned();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some((head, target, body)))
}

/// Keeps the calling process on one CPU (and the processes it starts after), so the
/// stub and the client measured never share a core.
pub fn pin_to_cpu(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET and sched_setaffinity only
    // read and write the set given.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}
