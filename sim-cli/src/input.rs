//! The user's input files (scenario files, manifests), read with a size limit.
//!
//! An input that is too large or never ends (`/dev/zero`, a pipe fed by `yes`, a log given
//! by mistake) is refused with an error that names the file and the limit, after reading
//! at most the limit: memory never grows past it. A FIFO that no program writes to waits
//! for a writer, as `cat` does; `/dev/stdin` stays usable for pipes.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use anyhow::{Context, bail};

/// The most capsim reads from its input [bytes]: 16 MiB, for one scenario file or for all
/// the manifests of one `capsim import`. Real inputs are a few KiB.
pub const MAX_INPUT_BYTES: u64 = 16 << 20;

/// What an input file holds, for the words of an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A scenario file (`--scenario`, `capsim scenario check`).
    Scenario,
    /// A manifest given to `capsim import`.
    Manifest,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Scenario => "scenario file",
            Kind::Manifest => "manifest",
        }
    }

    fn typical(self) -> &'static str {
        match self {
            Kind::Scenario => "a scenario file is a few KiB of YAML (examples in scenarios/)",
            Kind::Manifest => {
                "the managers' Deployments and the kube-apiserver and etcd pods are a few KiB \
                 of YAML each"
            }
        }
    }
}

/// A running total of the input one command reads, held under [`MAX_INPUT_BYTES`].
#[derive(Debug)]
pub struct Budget {
    /// Input still allowed [bytes].
    left: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            left: MAX_INPUT_BYTES,
        }
    }
}

impl Budget {
    /// Reads `path` as UTF-8 text and charges it to the budget; refuses a directory, a
    /// file over what is left of the budget, and text that is not UTF-8, naming the file.
    pub fn read_text(&mut self, path: &Path, kind: Kind) -> anyhow::Result<String> {
        let shown = path.display();
        let noun = kind.noun();
        let meta =
            std::fs::metadata(path).with_context(|| format!("{shown}: cannot read the {noun}"))?;
        if meta.is_dir() {
            bail!("{shown}: is a directory, not a {noun}; give the path of the file");
        }
        // `found`: "17 MiB is" or "does not end within".
        let over = |found: &str| {
            let limit = if self.left == MAX_INPUT_BYTES {
                format!("the limit of {} for a {noun}", mib(MAX_INPUT_BYTES))
            } else {
                format!(
                    "the {} left of the limit of {} for all the {noun}s of one command",
                    mib(self.left),
                    mib(MAX_INPUT_BYTES)
                )
            };
            anyhow::anyhow!(
                "{shown}: {found} {limit}; check that this is the file you meant: {}",
                kind.typical()
            )
        };
        if meta.is_file() && meta.len() > self.left {
            return Err(over(&format!("{} is over", mib(meta.len()))));
        }
        let mut file =
            File::open(path).with_context(|| format!("{shown}: cannot read the {noun}"))?;
        let hint = if meta.is_file() { meta.len() } else { 0 };
        let bytes = read_at_most(&mut file, self.left, hint)
            .with_context(|| format!("{shown}: cannot read the {noun}"))?
            .ok_or_else(|| over("does not end within"))?;
        self.left -= bytes.len() as u64;
        String::from_utf8(bytes).map_err(|e| {
            anyhow::anyhow!(
                "{shown}: not UTF-8 text (invalid at byte {}), so not a {noun}; {}",
                e.utf8_error().valid_up_to(),
                kind.typical()
            )
        })
    }
}

/// Reads one input file: [`Budget::read_text`] on a budget of its own.
pub fn read_text(path: &Path, kind: Kind) -> anyhow::Result<String> {
    Budget::default().read_text(path, kind)
}

/// Everything `r` gives, if that is at most `limit` bytes; `None` as soon as it gives more.
/// The buffer never holds more than `limit` bytes (`hint`: the expected length, if known).
fn read_at_most(r: &mut impl Read, limit: u64, hint: u64) -> io::Result<Option<Vec<u8>>> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut buf = Vec::with_capacity(usize::try_from(hint).unwrap_or(0).min(limit));
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => return Ok(Some(buf)),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n > limit - buf.len() {
            return Ok(None);
        }
        if buf.len() + n > buf.capacity() {
            // Grow by doubling, but never past the limit.
            let want = (buf.capacity() * 2).max(buf.len() + n).min(limit);
            buf.reserve_exact(want - buf.len());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A size in MiB for an error message: `16 MiB`, `17.5 MiB`.
fn mib(bytes: u64) -> String {
    let m = bytes as f64 / f64::from(1u32 << 20);
    if m.fract() == 0.0 {
        format!("{m:.0} MiB")
    } else {
        format!("{m:.1} MiB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_of_exactly_the_limit_is_read_and_one_byte_more_is_refused() {
        let exact = read_at_most(&mut io::repeat(b'a').take(1000), 1000, 0).unwrap();
        assert_eq!(exact.map(|b| b.len()), Some(1000));
        let over = read_at_most(&mut io::repeat(b'a').take(1001), 1000, 0).unwrap();
        assert_eq!(over, None);
    }

    /// A reader that gives `left` zero bytes, 1,000 at a time (an odd size, so that
    /// doubling the buffer would overshoot a round limit).
    struct Dribble {
        left: usize,
    }

    impl Read for Dribble {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.left.min(1000).min(buf.len());
            buf[..n].fill(0);
            self.left -= n;
            Ok(n)
        }
    }

    #[test]
    fn an_endless_input_stops_at_the_limit_without_growing_past_it() {
        // io::repeat never ends, like /dev/zero or a pipe fed by `yes`.
        assert_eq!(read_at_most(&mut io::repeat(0), 1 << 20, 0).unwrap(), None);
        let limit = 300_000;
        let read = read_at_most(&mut Dribble { left: limit }, limit as u64, 0)
            .unwrap()
            .expect("exactly the limit");
        assert_eq!(read.len(), limit);
        assert!(read.capacity() <= limit, "{}", read.capacity());
    }

    #[test]
    fn sizes_read_in_mib() {
        assert_eq!(mib(MAX_INPUT_BYTES), "16 MiB");
        assert_eq!(mib(17 << 20), "17 MiB");
        assert_eq!(mib((35 << 20) / 2), "17.5 MiB");
    }
}
