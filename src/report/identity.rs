//! The signing identity: a certificate with its private key, either from a
//! PKCS#12 file the user provides or generated once and kept in the platform
//! data folder.
//!
//! Owns key material handling only: loading, generating, storing (mode 0600,
//! never overwriting an existing file) and the CMS signature primitive. It
//! must not import the rest of the report, `db` or `ui`.

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{Id, PKey, Private};
use openssl::stack::Stack;
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::{X509NameBuilder, X509NameRef, X509};
use std::fmt;
use std::path::{Path, PathBuf};

/// File name of the generated identity inside the data folder.
pub const DEFAULT_IDENTITY_FILE: &str = "report-signing-identity.pem";

/// How long a generated certificate stays valid.
const GENERATED_VALIDITY_DAYS: u32 = 3650;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read signing identity {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a PKCS#12 (.p12/.pfx) file: export the certificate with its private key as PKCS#12")]
    NotPkcs12 { path: String },
    #[error("cannot open {path}: wrong password or damaged file (give the password in PGSAFEGUARD_SIGN_PASSWORD or at the prompt)")]
    WrongPassword { path: String },
    #[error("{path} lacks a {missing}: export the certificate together with its private key")]
    Incomplete { path: String, missing: &'static str },
    #[error(
        "the private key in {path} does not belong to its certificate: export the matching pair"
    )]
    KeyMismatch { path: String },
    #[error(
        "the key in {path} is {kind}; reports are signed with RSA or ECDSA keys: use one of those"
    )]
    UnsupportedKey { path: String, kind: String },
    #[error("this platform has no data folder for the signing identity: pass --sign-with FILE")]
    NoDataFolder,
    #[error("the signing identity {path} is damaged ({message}): move it away to create a new one, or pass --sign-with FILE")]
    Damaged { path: String, message: String },
    #[error("cannot create a signing identity in {path}: {message}")]
    Create { path: String, message: String },
    #[error("cannot sign with the identity: {0}")]
    Sign(String),
}

/// A certificate and its private key, ready to sign reports.
#[derive(Clone)]
pub struct SigningIdentity {
    certificate: X509,
    key: PKey<Private>,
    /// Intermediate certificates from a PKCS#12 file, embedded in signatures.
    chain: Vec<X509>,
}

impl fmt::Debug for SigningIdentity {
    /// Never prints the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningIdentity")
            .field("subject", &self.subject())
            .field("sha256", &self.fingerprint_sha256())
            .finish()
    }
}

impl SigningIdentity {
    /// Open a PKCS#12 file (certificate, private key, optional chain).
    pub fn load_pkcs12(path: &Path, password: &str) -> Result<SigningIdentity, IdentityError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| IdentityError::Read {
            path: shown.clone(),
            source,
        })?;
        let archive = Pkcs12::from_der(&bytes).map_err(|_| IdentityError::NotPkcs12 {
            path: shown.clone(),
        })?;
        let parsed = archive
            .parse2(password)
            .map_err(|_| IdentityError::WrongPassword {
                path: shown.clone(),
            })?;
        let certificate = parsed.cert.ok_or(IdentityError::Incomplete {
            path: shown.clone(),
            missing: "certificate",
        })?;
        let key = parsed.pkey.ok_or(IdentityError::Incomplete {
            path: shown.clone(),
            missing: "private key",
        })?;
        let chain = parsed
            .ca
            .map(|stack| stack.into_iter().collect())
            .unwrap_or_default();
        SigningIdentity::from_parts(certificate, key, chain, &shown)
    }

    /// The identity kept in the platform data folder, created on first use.
    /// The flag is true when it was created by this call.
    pub fn load_or_create_default() -> Result<(SigningIdentity, bool), IdentityError> {
        let dirs = crate::platform_dirs::data_dir().ok_or(IdentityError::NoDataFolder)?;
        SigningIdentity::load_or_create_in(&dirs)
    }

    /// Where [`SigningIdentity::load_or_create_default`] keeps the identity.
    pub fn default_path() -> Option<PathBuf> {
        crate::platform_dirs::data_dir().map(|dir| dir.join(DEFAULT_IDENTITY_FILE))
    }

    /// Load `dir/report-signing-identity.pem`, or generate and store it.
    ///
    /// # Behavior
    ///
    /// An existing file is never replaced: if it cannot be read the error
    /// says so and the user decides. A new file is written whole (temporary
    /// file, then a rename that refuses to overwrite) with mode 0600 in a
    /// folder created with mode 0700.
    pub fn load_or_create_in(dir: &Path) -> Result<(SigningIdentity, bool), IdentityError> {
        let path = dir.join(DEFAULT_IDENTITY_FILE);
        if path.exists() {
            return Ok((SigningIdentity::load_pem(&path)?, false));
        }
        let identity = SigningIdentity::generate(&default_common_name())?;
        match identity.store_new(dir, &path) {
            Ok(()) => Ok((identity, true)),
            // Another process created it meanwhile: use theirs, not ours.
            Err(_) if path.exists() => Ok((SigningIdentity::load_pem(&path)?, false)),
            Err(e) => Err(e),
        }
    }

    /// A fresh self-signed ECDSA P-256 identity, in memory only.
    pub fn generate(common_name: &str) -> Result<SigningIdentity, IdentityError> {
        let create = |e: openssl::error::ErrorStack| IdentityError::Create {
            path: "memory".into(),
            message: e.to_string(),
        };
        let key = generate_p256_key().map_err(create)?;
        let certificate = self_signed_certificate(&key, common_name).map_err(create)?;
        Ok(SigningIdentity {
            certificate,
            key,
            chain: Vec::new(),
        })
    }

    /// The identity as a password-protected PKCS#12 file.
    pub fn to_pkcs12(&self, password: &str) -> Result<Vec<u8>, IdentityError> {
        let export = |e: openssl::error::ErrorStack| IdentityError::Sign(e.to_string());
        let mut builder = Pkcs12::builder();
        builder
            .name("pgSafeguard report signer")
            .pkey(&self.key)
            .cert(&self.certificate);
        if !self.chain.is_empty() {
            let mut stack = Stack::new().map_err(export)?;
            for cert in &self.chain {
                stack.push(cert.clone()).map_err(export)?;
            }
            builder.ca(stack);
        }
        builder
            .build2(password)
            .and_then(|p12| p12.to_der())
            .map_err(export)
    }

    /// Lower-case hex SHA-256 of the certificate (DER), no separators.
    pub fn fingerprint_sha256(&self) -> String {
        certificate_fingerprint(&self.certificate)
    }

    /// The certificate subject, most specific part first (`CN=…, O=…`).
    pub fn subject(&self) -> String {
        name_to_string(self.certificate.subject_name())
    }

    /// The certificate, DER encoded.
    pub fn certificate_der(&self) -> Vec<u8> {
        self.certificate.to_der().unwrap_or_default()
    }

    /// Size of the certificates a signature embeds, to reserve room for it.
    pub(crate) fn embedded_certificates_len(&self) -> usize {
        std::iter::once(&self.certificate)
            .chain(self.chain.iter())
            .map(|c| c.to_der().map(|d| d.len()).unwrap_or(4096))
            .sum()
    }

    /// A CMS SignedData over `data`, detached, with the signer certificate,
    /// SHA-256 and a signing-time attribute; DER encoded.
    pub(crate) fn sign_detached(&self, data: &[u8]) -> Result<Vec<u8>, IdentityError> {
        let sign = |e: openssl::error::ErrorStack| IdentityError::Sign(e.to_string());
        let mut extra = Stack::new().map_err(sign)?;
        for cert in &self.chain {
            extra.push(cert.clone()).map_err(sign)?;
        }
        let flags = CMSOptions::DETACHED | CMSOptions::BINARY | CMSOptions::NOSMIMECAP;
        CmsContentInfo::sign(
            Some(&self.certificate),
            Some(&self.key),
            Some(&extra),
            Some(data),
            flags,
        )
        .and_then(|cms| cms.to_der())
        .map_err(sign)
    }

    fn from_parts(
        certificate: X509,
        key: PKey<Private>,
        chain: Vec<X509>,
        shown: &str,
    ) -> Result<SigningIdentity, IdentityError> {
        match key.id() {
            Id::RSA | Id::EC => {}
            other => {
                return Err(IdentityError::UnsupportedKey {
                    path: shown.to_string(),
                    kind: format!("{other:?}"),
                })
            }
        }
        let matches = certificate
            .public_key()
            .map(|public| public.public_eq(&key))
            .unwrap_or(false);
        if !matches {
            return Err(IdentityError::KeyMismatch {
                path: shown.to_string(),
            });
        }
        Ok(SigningIdentity {
            certificate,
            key,
            chain,
        })
    }

    /// Read the generated identity (certificate and PKCS#8 key in one PEM file).
    fn load_pem(path: &Path) -> Result<SigningIdentity, IdentityError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| IdentityError::Read {
            path: shown.clone(),
            source,
        })?;
        let damaged = |message: String| IdentityError::Damaged {
            path: shown.clone(),
            message,
        };
        let certificate = X509::from_pem(&bytes).map_err(|_| damaged("no certificate".into()))?;
        let key =
            PKey::private_key_from_pem(&bytes).map_err(|_| damaged("no private key".into()))?;
        SigningIdentity::from_parts(certificate, key, Vec::new(), &shown)
            .map_err(|e| damaged(e.to_string()))
    }

    fn store_new(&self, dir: &Path, path: &Path) -> Result<(), IdentityError> {
        let create = |message: String| IdentityError::Create {
            path: path.display().to_string(),
            message,
        };
        create_private_dir(dir).map_err(|e| create(e.to_string()))?;
        let mut pem = self
            .certificate
            .to_pem()
            .map_err(|e| create(e.to_string()))?;
        let key = self
            .key
            .private_key_to_pem_pkcs8()
            .map_err(|e| create(e.to_string()))?;
        pem.extend_from_slice(&key);
        // tempfile creates files readable by the owner only (0600 on Unix).
        let mut temp = tempfile::Builder::new()
            .prefix(".pgsafeguard-identity-")
            .tempfile_in(dir)
            .map_err(|e| create(e.to_string()))?;
        std::io::Write::write_all(&mut temp, &pem).map_err(|e| create(e.to_string()))?;
        temp.as_file()
            .sync_all()
            .map_err(|e| create(e.to_string()))?;
        temp.persist_noclobber(path)
            .map_err(|e| create(e.error.to_string()))?;
        Ok(())
    }
}

/// Lower-case hex SHA-256 of a certificate's DER.
pub(crate) fn certificate_fingerprint(cert: &X509) -> String {
    cert.digest(MessageDigest::sha256())
        .map(hex::encode)
        .unwrap_or_default()
}

/// `CN=…, O=…`: entries in reverse DER order, as RFC 4514 writes them.
pub(crate) fn name_to_string(name: &X509NameRef) -> String {
    let mut parts: Vec<String> = name
        .entries()
        .map(|entry| {
            let key = entry.object().nid().short_name().unwrap_or("?").to_string();
            let value = entry.data().to_string().unwrap_or_else(|_| "?".into());
            format!("{key}={value}")
        })
        .collect();
    parts.reverse();
    parts.join(", ")
}

fn default_common_name() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_default();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    match (user.is_empty(), host.is_empty()) {
        (false, false) => format!("pgSafeguard report signer ({user}@{host})"),
        (false, true) => format!("pgSafeguard report signer ({user})"),
        _ => "pgSafeguard report signer".to_string(),
    }
}

fn generate_p256_key() -> Result<PKey<Private>, openssl::error::ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    PKey::from_ec_key(EcKey::generate(&group)?)
}

/// A self-signed certificate fit for document signing: key usage
/// digitalSignature + nonRepudiation (what PDF validators look for), and
/// marked as its own trust anchor (CA, path length 0, keyCertSign) because
/// NSS-based validators such as poppler's only trust a self-signed
/// certificate that a user imported as a CA.
fn self_signed_certificate(
    key: &PKey<Private>,
    common_name: &str,
) -> Result<X509, openssl::error::ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "pgSafeguard (self-signed)")?;
    name.append_entry_by_nid(Nid::COMMONNAME, common_name)?;
    let name = name.build();

    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;

    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    builder.set_serial_number(serial.to_asn1_integer()?.as_ref())?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_pubkey(key)?;
    builder.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
    builder.set_not_after(Asn1Time::days_from_now(GENERATED_VALIDITY_DAYS)?.as_ref())?;
    builder.append_extension(BasicConstraints::new().critical().ca().pathlen(0).build()?)?;
    builder.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .non_repudiation()
            .key_cert_sign()
            .build()?,
    )?;
    let ski = SubjectKeyIdentifier::new().build(&builder.x509v3_context(None, None))?;
    builder.append_extension(ski)?;
    builder.sign(key, MessageDigest::sha256())?;
    Ok(builder.build())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_identity_is_stored_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("data");
        let (first, created) = SigningIdentity::load_or_create_in(&folder).unwrap();
        assert!(created);
        let (second, created) = SigningIdentity::load_or_create_in(&folder).unwrap();
        assert!(!created);
        assert_eq!(first.fingerprint_sha256(), second.fingerprint_sha256());
        assert_eq!(first.fingerprint_sha256().len(), 64);
        assert!(first.subject().starts_with("CN=pgSafeguard report signer"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = folder.join(DEFAULT_IDENTITY_FILE);
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn damaged_identity_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(DEFAULT_IDENTITY_FILE);
        std::fs::write(&file, "garbage").unwrap();
        let err = SigningIdentity::load_or_create_in(dir.path()).unwrap_err();
        assert!(matches!(err, IdentityError::Damaged { .. }), "{err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "garbage");
    }

    #[test]
    fn pkcs12_round_trip_and_wrong_password() {
        let dir = tempfile::tempdir().unwrap();
        let identity = SigningIdentity::generate("Test Signer").unwrap();
        let path = dir.path().join("id.p12");
        std::fs::write(&path, identity.to_pkcs12("s3cret").unwrap()).unwrap();
        let loaded = SigningIdentity::load_pkcs12(&path, "s3cret").unwrap();
        assert_eq!(loaded.fingerprint_sha256(), identity.fingerprint_sha256());
        let err = SigningIdentity::load_pkcs12(&path, "wrong").unwrap_err();
        assert!(matches!(err, IdentityError::WrongPassword { .. }), "{err}");
        assert!(!err.to_string().contains("wrong\""));
        std::fs::write(&path, b"not a p12").unwrap();
        let err = SigningIdentity::load_pkcs12(&path, "s3cret").unwrap_err();
        assert!(matches!(err, IdentityError::NotPkcs12 { .. }), "{err}");
    }
}
