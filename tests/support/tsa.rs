//! A local RFC 3161 Time-Stamping Authority for tests and the timestamp
//! bench: a test CA and a TSA certificate (critical extendedKeyUsage
//! timeStamping) made with the openssl CLI in a temp folder, and `openssl ts
//! -reply` behind a tiny HTTP handler on 127.0.0.1 (one named thread, one
//! request at a time).
//!
//! A TSA can be told to misbehave ([`Behaviour`]) so that the tests can see
//! each failure the report must survive. New file of issue 22 (the shared
//! harness is untouched); used by tests/timestamp.rs and
//! tests/bench/timestamp.rs through `#[path]`.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

use der::asn1::{Int, OctetString};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use x509_tsp::TimeStampReq;

/// The policy the test TSA issues under.
pub const POLICY: &str = "1.3.6.1.4.1.99999.1.1";
/// The TSA certificate's common name.
pub const TSA_NAME: &str = "pgSafeguard Test TSA";

/// The test CA and TSA key pair, made once per test binary.
pub struct TestPki {
    dir: tempfile::TempDir,
}

impl TestPki {
    pub fn new() -> TestPki {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path();
        std::fs::write(path.join("pki.cnf"), PKI_CONFIG).expect("write pki.cnf");
        openssl(
            path,
            &[
                "req",
                "-x509",
                "-config",
                "pki.cnf",
                "-extensions",
                "v3_ca",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "3650",
                "-subj",
                "/O=pgSafeguard tests/CN=pgSafeguard Test CA",
            ],
        );
        openssl(
            path,
            &[
                "req",
                "-new",
                "-config",
                "pki.cnf",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "tsa.key",
                "-out",
                "tsa.csr",
                "-subj",
                &format!("/O=pgSafeguard tests/CN={TSA_NAME}"),
            ],
        );
        openssl(
            path,
            &[
                "x509",
                "-req",
                "-in",
                "tsa.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                "4242",
                "-days",
                "3650",
                "-extfile",
                "pki.cnf",
                "-extensions",
                "tsa_cert",
                "-out",
                "tsa.pem",
            ],
        );
        TestPki { dir }
    }

    /// The CA certificate (PEM): `--tsa-ca`, pyHanko's `--trust`.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A CA that did not issue the TSA certificate.
    pub fn other_ca(&self) -> PathBuf {
        let path = self.dir.path().join("other-ca.pem");
        if !path.exists() {
            openssl(
                self.dir.path(),
                &[
                    "req",
                    "-x509",
                    "-config",
                    "pki.cnf",
                    "-extensions",
                    "v3_ca",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-keyout",
                    "other-ca.key",
                    "-out",
                    "other-ca.pem",
                    "-days",
                    "3650",
                    "-subj",
                    "/CN=Some Other CA",
                ],
            );
        }
        path
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run the openssl CLI (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How the local TSA answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// A correct token for the request.
    Honest,
    /// A token with a nonce other than the one asked for.
    WrongNonce,
    /// A token over other data (another message imprint).
    OtherImprint,
    /// A correct token with one byte of its signature flipped.
    FlippedByte,
    /// HTTP 500.
    HttpError,
    /// A granted-status refusal: the request asks for a policy the TSA does
    /// not serve, so `openssl ts -reply` answers with status "rejection".
    Reject,
}

/// A running local TSA.
pub struct LocalTsa {
    port: u16,
    /// The last answer sent (a DER TimeStampResp).
    last_answer: Arc<Mutex<Vec<u8>>>,
    /// Time spent answering (request read → answer written), in total.
    busy: Arc<Mutex<Duration>>,
    _dir: tempfile::TempDir,
}

impl LocalTsa {
    pub fn start(pki: &TestPki, behaviour: Behaviour) -> LocalTsa {
        // Each TSA keeps its own serial file.
        let dir = tempfile::tempdir().expect("temp dir");
        let config = tsa_config(pki.path(), dir.path());
        std::fs::write(dir.path().join("tsa.cnf"), config).expect("write tsa.cnf");
        std::fs::write(dir.path().join("serial"), "01\n").expect("write serial");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("address").port();
        let last_answer = Arc::new(Mutex::new(Vec::new()));
        let busy = Arc::new(Mutex::new(Duration::ZERO));
        let work = dir.path().to_path_buf();
        let (answer, spent) = (Arc::clone(&last_answer), Arc::clone(&busy));
        std::thread::Builder::new()
            .name(format!("test-tsa-{port}"))
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let started = Instant::now();
                    if let Some(sent) = serve(stream, &work, behaviour) {
                        *answer.lock().unwrap() = sent;
                    }
                    *spent.lock().unwrap() += started.elapsed();
                }
            })
            .expect("start the TSA thread");
        LocalTsa {
            port,
            last_answer,
            busy,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/tsa", self.port)
    }

    pub fn last_answer(&self) -> Vec<u8> {
        self.last_answer.lock().unwrap().clone()
    }

    pub fn busy(&self) -> Duration {
        *self.busy.lock().unwrap()
    }
}

/// A URL where nothing listens: a port that was free a moment ago.
pub fn down_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/tsa")
}

/// One HTTP request: read the query, answer; the answer's body.
fn serve(stream: TcpStream, work: &Path, behaviour: Behaviour) -> Option<Vec<u8>> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut query = vec![0u8; length];
    reader.read_exact(&mut query).ok()?;
    let mut stream = stream;
    if behaviour == Behaviour::HttpError {
        let _ = stream.write_all(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return None;
    }
    let mut answer = reply(&tamper(&query, behaviour), work);
    if behaviour == Behaviour::FlippedByte {
        // The last byte is inside the token's signature value.
        if let Some(last) = answer.last_mut() {
            *last ^= 0x01;
        }
    }
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(&answer).ok()?;
    stream.flush().ok()?;
    Some(answer)
}

/// The query as the misbehaving TSA pretends it was asked.
fn tamper(query: &[u8], behaviour: Behaviour) -> Vec<u8> {
    let mut request = TimeStampReq::from_der(query).expect("a TimeStampReq");
    match behaviour {
        Behaviour::WrongNonce => {
            request.nonce = Some(Int::new(&[0x12, 0x34, 0x56, 0x78]).unwrap());
        }
        Behaviour::OtherImprint => {
            request.message_imprint.hashed_message =
                OctetString::new(Sha256::digest(b"other data").to_vec()).unwrap();
        }
        Behaviour::Reject => {
            request.req_policy = Some("1.2.3.4.5.6.7".parse().unwrap());
        }
        _ => {}
    }
    request.to_der().unwrap()
}

/// `openssl ts -reply` for a DER query.
fn reply(query: &[u8], work: &Path) -> Vec<u8> {
    std::fs::write(work.join("query.tsq"), query).expect("write query");
    openssl(
        work,
        &[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            "query.tsq",
            "-out",
            "reply.tsr",
        ],
    );
    std::fs::read(work.join("reply.tsr")).expect("read reply")
}

const PKI_CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[tsa_cert]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
";

fn tsa_config(pki: &Path, work: &Path) -> String {
    format!(
        "\
[tsa]
default_tsa = tsa_config
[tsa_config]
serial = {work}/serial
crypto_device = builtin
signer_cert = {pki}/tsa.pem
certs = {pki}/ca.pem
signer_key = {pki}/tsa.key
signer_digest = sha256
default_policy = {POLICY}
other_policies = 1.3.6.1.4.1.99999.1.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
",
        work = work.display(),
        pki = pki.display()
    )
}
