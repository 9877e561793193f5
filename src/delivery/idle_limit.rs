//! Connections to Slack's Web API that the client itself retires after a quiet spell.
//!
//! slack-morphism builds its hyper-util client with the defaults and offers no way to
//! change them, so pooled connections may sit idle 90 s. Servers and load balancers
//! close idle keep-alive connections sooner (AWS ALB after 60 s, nginx 75 s, many
//! less). A request sent on a pooled connection just as the server closes it is lost
//! after it was written (`hyper::Error(IncompleteMessage)`), and a lost post is in
//! doubt: the outbox must look in the channel's history before posting it again.
//!
//! Since the pool's idle timeout cannot be set, the connector is wrapped instead: each
//! connection it yields reports end of stream on read once it has carried no byte
//! either way for [`IDLE_LIMIT`]. hyper's HTTP/1 client keeps reading an idle pooled
//! connection (`proto::h1::Conn::poll_read_keep_alive` → `require_empty_read`: an EOF
//! on an idle connection closes it without error), so the connection is closed and
//! leaves the pool; the next call opens a fresh one. The read is driven by the
//! connection's task, which the timer below wakes.

use std::{
    future::Future,
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use hyper::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use tokio::time::{Instant, Sleep};

/// How long a pooled connection may carry nothing before the client closes it: below
/// the idle limits of common load balancers (AWS ALB 60 s, nginx 75 s), and no shorter
/// than any caller waits for an answer (10 s for one background call,
/// [`super::slack_api::CALL_TIMEOUT`]; 20 s for one outbox attempt, which may make
/// several calls), so a call still waiting for its answer is never cut by this before
/// its caller gives up on it anyway. A server that closes idle connections sooner
/// than this (some close after 5 s) can still race a call; hyper-util replays those
/// not yet written.
pub const IDLE_LIMIT: Duration = Duration::from_secs(20);

/// A connector (a `Service<Uri>`, as hyper-util's `Connect` wants) whose connections
/// end after `limit` without traffic.
#[derive(Clone, Debug)]
pub struct IdleLimited<C> {
    inner: C,
    limit: Duration,
}

impl<C> IdleLimited<C> {
    pub fn new(inner: C, limit: Duration) -> Self {
        Self { inner, limit }
    }
}

impl<C> tower::Service<Uri> for IdleLimited<C>
where
    C: tower::Service<Uri>,
    C::Future: Send + 'static,
    C::Response: Unpin,
{
    type Response = IdleLimitedIo<C::Response>;
    type Error = C::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, C::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), C::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let limit = self.limit;
        Box::pin(async move { Ok(IdleLimitedIo::new(connecting.await?, limit)) })
    }
}

/// One connection: the connector's stream, plus the timer that any byte read or
/// written resets.
#[derive(Debug)]
pub struct IdleLimitedIo<T> {
    inner: T,
    limit: Duration,
    quiet_until: Pin<Box<Sleep>>,
}

impl<T> IdleLimitedIo<T> {
    fn new(inner: T, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            quiet_until: Box::pin(tokio::time::sleep(limit)),
        }
    }

    fn heard(&mut self) {
        let at = Instant::now() + self.limit;
        self.quiet_until.as_mut().reset(at);
    }
}

impl<T: Read + Unpin> Read for IdleLimitedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                this.heard();
                Poll::Ready(result)
            }
            // Nothing to read: polling the timer registers this task to be woken when
            // the connection has been quiet too long, and then it reads "end of
            // stream" (nothing put in `buf`).
            Poll::Pending => match this.quiet_until.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Ok(())),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<T: Write + Unpin> Write for IdleLimitedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.heard();
        }
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.heard();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// What the pool needs to know of the connection (HTTP/2 negotiated by ALPN, a
/// proxy) is the inner stream's.
impl<T: Connection> Connection for IdleLimitedIo<T> {
    fn connected(&self) -> Connected {
        self.inner.connected()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use slack_morphism::prelude::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;
    use crate::delivery::slack_api::https_client;

    /// How long the stand-in server keeps an idle keep-alive connection.
    const SERVER_IDLE: Duration = Duration::from_millis(400);

    /// A minimal HTTP/1.1 keep-alive server answering Slack's `{"ok":true}`. A request
    /// that arrives on a connection idle longer than [`SERVER_IDLE`] is met by the
    /// connection closing, unanswered: what a client meets when its request crosses
    /// the server's close of an idle connection (deterministic here, a race in life).
    /// Counts the connections it accepted.
    async fn server() -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(socket));
            }
        });
        (url, accepted)
    }

    async fn serve(mut socket: TcpStream) {
        let mut last_answer: Option<Instant> = None;
        let mut buf = Vec::new();
        loop {
            // Read one request head (the client's calls here have no body).
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                let mut chunk = [0u8; 4096];
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            if last_answer.is_some_and(|at| at.elapsed() > SERVER_IDLE) {
                return; // closes the connection without an answer
            }
            buf.clear();
            let body = r#"{"ok":true,"args":{}}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: keep-alive\r\n\r\n{body}",
                body.len()
            );
            if socket.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
            last_answer = Some(Instant::now());
        }
    }

    /// Two calls separated by more than the server's idle limit, with the client's
    /// idle limit `client_idle`: the second call's result.
    async fn second_call_after_server_idle(client_idle: Duration) -> (Result<(), String>, usize) {
        let (url, accepted) = server().await;
        let client = https_client(&url, client_idle).unwrap();
        let token = SlackApiToken::new(SlackApiTokenValue::new("xoxb-test".into()));
        let session = client.open_session(&token);
        session
            .api_test(&SlackApiTestRequest::new())
            .await
            .expect("the first call is answered");
        // Real time: the server's sockets are real (a paused clock would not move them).
        tokio::time::sleep(SERVER_IDLE + Duration::from_millis(300)).await;
        let second = session
            .api_test(&SlackApiTestRequest::new())
            .await
            .map(|_| ())
            .map_err(|e| format!("{e:?}"));
        (second, accepted.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_connection_idle_past_the_limit_is_not_reused() {
        // The client lets go before the server does: the second call goes on a new
        // connection, at the first try.
        let (second, connections) = second_call_after_server_idle(SERVER_IDLE / 2).await;
        assert_eq!(second, Ok(()));
        assert_eq!(connections, 2, "the idle connection was not reused");
    }

    #[tokio::test]
    async fn a_connection_in_use_is_kept() {
        // Traffic resets the quiet spell: calls closer together than the limit share
        // one connection, however long the whole lasts.
        let (url, accepted) = server().await;
        let limit = Duration::from_millis(300);
        let client = https_client(&url, limit).unwrap();
        let token = SlackApiToken::new(SlackApiTokenValue::new("xoxb-test".into()));
        let session = client.open_session(&token);
        for _ in 0..4 {
            session
                .api_test(&SlackApiTestRequest::new())
                .await
                .expect("answered");
            tokio::time::sleep(limit / 2).await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn without_the_limit_a_reused_connection_loses_the_call() {
        // What the client did before (hyper-util keeps idle connections 90 s): the
        // second call is written on the stale connection and lost after it was sent,
        // which hyper-util does not replay.
        let (second, connections) = second_call_after_server_idle(Duration::from_secs(90)).await;
        let error = second.expect_err("the reused connection was closed under the call");
        assert!(error.contains("IncompleteMessage"), "{error}");
        assert_eq!(connections, 1);
    }
}
