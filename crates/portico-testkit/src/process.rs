//! A server a test starts as a child process on port 0: it says where it listens on its
//! first line of output, and the test must read that line before it can connect.

use std::io::{self, BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Spawns `cmd` with its stdout piped and returns the child with its first line of
/// output, trimmed (empty when it closed stdout first). The rest of the output is
/// drained on a thread of its own, so a chatty child never blocks on a full pipe.
pub fn spawn_announcing(cmd: &mut Command) -> io::Result<(Child, String)> {
    let mut child = cmd.stdout(Stdio::piped()).spawn()?;
    let mut out = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut line = String::new();
    out.read_line(&mut line)?;
    std::thread::spawn(move || io::copy(&mut out, &mut io::sink()));
    Ok((child, line.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_comes_back_and_the_rest_is_drained() {
        // 1 MiB after the first line: more than a pipe holds, so an undrained child
        // would never exit.
        let (mut child, line) = spawn_announcing(
            Command::new("sh").args(["-c", "echo 'PORT 1234 '; head -c 1048576 /dev/zero"]),
        )
        .unwrap();
        assert_eq!(line, "PORT 1234");
        assert!(child.wait().unwrap().success());
    }
}
