//! A throwaway public-key infrastructure for live tests: a test CA, a server certificate it
//! signs for `localhost` and `127.0.0.1` only, an unrelated "wrong" CA, and client
//! certificates for certificate authentication.
//!
//! Owns certificate generation only; it knows nothing about clusters or files (the cluster
//! module decides where the PEM text is written). Everything here is made fresh per test and
//! is never trusted outside it.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// Names the server certificate is valid for. Anything else (for example the host name `vm`
/// or `runsc`, which also resolve to 127.0.0.1 on the test machine) must fail `verify-full`.
pub const SERVER_CERT_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// A certificate and its private key, both PEM.
#[derive(Clone, Debug)]
pub struct PemPair {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The test CA plus an unrelated CA that signed nothing the server presents.
pub struct TestPki {
    ca: CertifiedIssuer<'static, KeyPair>,
    wrong_ca: CertifiedIssuer<'static, KeyPair>,
}

impl TestPki {
    /// Makes both CAs. Panics if key generation fails (nothing a test can recover from).
    pub fn new() -> Self {
        TestPki {
            ca: make_ca("pgSafeguard Test CA"),
            wrong_ca: make_ca("pgSafeguard Unrelated CA"),
        }
    }

    /// The CA that signs the server and client certificates.
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// A CA that signed nothing in this cluster: verifying the server with it must fail.
    pub fn wrong_ca_pem(&self) -> String {
        self.wrong_ca.pem()
    }

    /// The normal server certificate: SAN `localhost` and IP 127.0.0.1, valid from yesterday
    /// for one year.
    pub fn server_cert(&self) -> PemPair {
        let now = OffsetDateTime::now_utc();
        self.server_cert_with(
            &SERVER_CERT_NAMES,
            now - Duration::days(1),
            now + Duration::days(365),
        )
    }

    /// A server certificate signed by the test CA with the given names and validity window,
    /// e.g. an expired one (`not_after` in the past) or one for the wrong host.
    pub fn server_cert_with(
        &self,
        names: &[&str],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> PemPair {
        let common_name = names.first().copied().unwrap_or("localhost");
        let mut params = leaf_params(names, common_name, not_before, not_after);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        sign_leaf(params, &self.ca)
    }

    /// A client certificate whose common name is `role`, signed by the test CA, for
    /// `cert` / `clientcert=verify-full` rules in pg_hba.conf.
    pub fn client_cert(&self, role: &str) -> PemPair {
        let now = OffsetDateTime::now_utc();
        let mut params = leaf_params(
            &[],
            role,
            now - Duration::days(1),
            now + Duration::days(365),
        );
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        sign_leaf(params, &self.ca)
    }

    /// A self-signed server certificate (no CA at all), like a "snakeoil" default.
    pub fn self_signed_server_cert(&self) -> PemPair {
        let now = OffsetDateTime::now_utc();
        let params = leaf_params(
            &SERVER_CERT_NAMES,
            "localhost",
            now - Duration::days(1),
            now + Duration::days(365),
        );
        let key = KeyPair::generate().expect("generate a key pair for a self-signed certificate");
        let cert = params
            .self_signed(&key)
            .expect("self-sign a test server certificate");
        PemPair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

fn make_ca(common_name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("empty SAN list is valid");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "pgSafeguard tests");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = now - Duration::days(2);
    params.not_after = now + Duration::days(3650);
    let key = KeyPair::generate().expect("generate a CA key pair");
    CertifiedIssuer::self_signed(params, key).expect("self-sign the test CA")
}

fn leaf_params(
    names: &[&str],
    common_name: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let sans: Vec<String> = names.iter().map(|name| name.to_string()).collect();
    let mut params = CertificateParams::new(sans).expect("certificate names are valid");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.not_before = not_before;
    params.not_after = not_after;
    params
}

fn sign_leaf(params: CertificateParams, ca: &CertifiedIssuer<'static, KeyPair>) -> PemPair {
    let key = KeyPair::generate().expect("generate a leaf key pair");
    let cert = params
        .signed_by(&key, &**ca)
        .expect("sign a test certificate with the test CA");
    PemPair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}
