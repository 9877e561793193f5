//! Where the shell's output goes: one writer for everything, so what Slack would show
//! and what the person typed come out in one order, each stamped with the time since
//! the session started (virtual time under `--clock virtual`, so a transcript is the
//! same on every run).

use std::sync::Mutex;

use super::render::Style;
use crate::time_source::TimeSource;

type Sink = Box<dyn FnMut(String) + Send>;

pub struct Screen {
    inner: Mutex<Inner>,
    style: Style,
    time: TimeSource,
    start_ms: i64,
}

struct Inner {
    sink: Sink,
    /// While a request is in flight, what Slack shows waits here, so the request's own
    /// answer comes first, as it does in Slack.
    held: Option<Vec<String>>,
}

impl Screen {
    pub fn new(style: Style, time: TimeSource, sink: Sink) -> Self {
        Self {
            start_ms: time.now_ms(),
            inner: Mutex::new(Inner { sink, held: None }),
            style,
            time,
        }
    }

    pub fn style(&self) -> Style {
        self.style
    }

    /// Sends output elsewhere from now on (the line editor's printer, once it runs).
    pub fn set_sink(&self, sink: Sink) {
        self.lock().sink = sink;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `+H:MM:SS` since the session started.
    pub fn elapsed(&self) -> String {
        let s = ((self.time.now_ms() - self.start_ms) / 1000).max(0);
        format!("+{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }

    /// A block of output under a heading: a message in its channel, a modal, a Home.
    pub fn show(&self, heading: &str, lines: &[String]) {
        let text = self.block(heading, lines);
        self.emit(text);
    }

    /// Like [`Screen::show`], but ahead of anything held: a request's own answer,
    /// which Slack shows before what the request set going.
    pub fn show_first(&self, heading: &str, lines: &[String]) {
        let text = self.block(heading, lines);
        let mut inner = self.lock();
        (inner.sink)(text);
    }

    fn block(&self, heading: &str, lines: &[String]) -> String {
        let mut text = format!(
            "{} {}\n",
            self.style.dim(&format!("[{}]", self.elapsed())),
            self.style.bold(heading)
        );
        for line in lines {
            text.push_str("    ");
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// One line about something Slack would show in passing (a channel created).
    pub fn note(&self, line: &str) {
        let text = format!(
            "{} {}\n",
            self.style.dim(&format!("[{}]", self.elapsed())),
            self.style.dim(line)
        );
        self.emit(text);
    }

    /// Printed at once, ahead of anything held: what the person typed, errors.
    pub fn say(&self, line: &str) {
        let mut inner = self.lock();
        (inner.sink)(format!("{line}\n"));
    }

    fn emit(&self, text: String) {
        let mut inner = self.lock();
        match &mut inner.held {
            Some(held) => held.push(text),
            None => (inner.sink)(text),
        }
    }

    pub fn hold(&self) {
        let mut inner = self.lock();
        inner.held.get_or_insert_with(Vec::new);
    }

    pub fn release(&self) {
        let mut inner = self.lock();
        for text in inner.held.take().unwrap_or_default() {
            (inner.sink)(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn captured() -> (Screen, Arc<Mutex<String>>, TimeSource) {
        let out = Arc::new(Mutex::new(String::new()));
        let time =
            TimeSource::virtual_at(chrono::DateTime::from_timestamp(1_767_571_200, 0).unwrap());
        let sink = {
            let out = out.clone();
            Box::new(move |s: String| out.lock().unwrap().push_str(&s))
        };
        (
            Screen::new(Style { colour: false }, time.clone(), sink),
            out,
            time,
        )
    }

    #[test]
    fn output_is_stamped_with_the_time_since_the_start() {
        let (screen, out, time) = captured();
        screen.show("#cust-acme", &["hello".into()]);
        time.advance_to(time.now_ms() + 3_723_000);
        screen.note("later");
        assert_eq!(
            *out.lock().unwrap(),
            "[+0:00:00] #cust-acme\n    hello\n[+1:02:03] later\n"
        );
    }

    #[test]
    fn held_output_comes_after_what_is_said_meanwhile() {
        let (screen, out, _) = captured();
        screen.hold();
        screen.note("posted while the request ran");
        screen.show_first("the request's answer", &[]);
        screen.release();
        assert_eq!(
            *out.lock().unwrap(),
            "[+0:00:00] the request's answer\n[+0:00:00] posted while the request ran\n"
        );
    }
}
