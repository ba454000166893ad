//! Everything the process logs through `tracing`, captured for the leak case (and any other
//! test that must show a secret never reaches the logs): the servers run on their own
//! threads, so only a global subscriber sees their events. Code that logs on the test's own
//! thread can use [`logs_of`] instead.

use std::sync::{Arc, Mutex, OnceLock};

/// The captured text, shared by every test of the test binary.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut captured) = self.0.lock() {
            captured.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

impl Capture {
    /// A `fmt` subscriber writing every event, at `TRACE`, without colours, into this capture.
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        tracing_subscriber::fmt()
            .with_writer(self.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish()
    }

    /// Installs the capture as the process's global subscriber, at `TRACE`, once.
    pub fn global() -> &'static Capture {
        static CAPTURE: OnceLock<Capture> = OnceLock::new();
        CAPTURE.get_or_init(|| {
            let capture = Capture::default();
            if tracing::subscriber::set_global_default(capture.subscriber()).is_err() {
                panic!("another global tracing subscriber is installed: the leak case cannot see the logs");
            }
            capture
        })
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Runs `f` with every event it logs on this thread captured, and returns `f`'s result and
/// the text.
pub fn logs_of<R>(f: impl FnOnce() -> R) -> (R, String) {
    let capture = Capture::default();
    let result = tracing::subscriber::with_default(capture.subscriber(), f);
    (result, capture.text())
}
