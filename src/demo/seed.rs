//! The demo's data, like the guide's example: a `clinic` database whose
//! `patients` table holds full name, SSN in plain text, date of birth and
//! phone, with visits, prescriptions and billing beside it. Every person is
//! fictitious; SSNs are in the never-issued 9xx range.
//!
//! Left the way a hurried install leaves it: the application role
//! `clinic_app` is a SUPERUSER with an md5 password (random, never kept) and
//! owns the tables; row-level policies were written but RLS never enabled;
//! PUBLIC may read visits; no pgcrypto.
//!
//! Runs over the admin session (`crate::db::connect`, the one way the crate
//! talks to a server).

use super::DemoError;
use crate::db::connect;
use crate::db::conninfo::ConnParams;
use postgres_protocol::escape::escape_literal;
use postgres_protocol::password;

/// The seeded database.
pub const CLINIC_DB: &str = "clinic";
/// The seeded application role.
pub const APP_ROLE: &str = "clinic_app";

/// Creates the role, the database and its tables. `admin` must point at the
/// `postgres` database; `app_password` is hashed (md5) and then forgotten.
pub async fn seed(admin: &ConnParams, app_password: &str) -> Result<(), DemoError> {
    let md5 = password::md5(app_password.as_bytes(), APP_ROLE);
    run(
        admin,
        &format!(
            "CREATE ROLE {APP_ROLE} LOGIN SUPERUSER PASSWORD {};
             CREATE DATABASE {CLINIC_DB} OWNER {APP_ROLE};",
            escape_literal(&md5)
        ),
    )
    .await?;
    let clinic = ConnParams {
        dbname: CLINIC_DB.into(),
        ..admin.clone()
    };
    run(&clinic, CLINIC_SQL).await
}

async fn run(params: &ConnParams, sql: &str) -> Result<(), DemoError> {
    let session = connect::connect(params)
        .await
        .map_err(|e| DemoError::Seed(e.to_string()))?;
    // CREATE DATABASE cannot run in a transaction block: one statement at a
    // time (batch_execute sends them as one simple query, which would be one).
    let mut result = Ok(());
    for statement in sql.split_inclusive(";\n").map(str::trim) {
        if statement.is_empty() {
            continue;
        }
        if let Err(e) = session.client.batch_execute(statement).await {
            let first_line = statement.lines().next().unwrap_or_default();
            result = Err(DemoError::Seed(format!("{first_line}: {e}")));
            break;
        }
    }
    session.close().await;
    result
}

/// Tables, fictitious rows, the unenabled policies and the PUBLIC grant.
const CLINIC_SQL: &str = "\
SET ROLE clinic_app;
CREATE TABLE public.patients (
    id            serial PRIMARY KEY,
    clinic_id     integer NOT NULL,
    full_name     text NOT NULL,
    ssn           text NOT NULL,
    date_of_birth date,
    phone         text,
    email         text
);
INSERT INTO public.patients (clinic_id, full_name, ssn, date_of_birth, phone, email) VALUES
    (1, 'Ada Testperson',    '900-12-0001', '1961-04-12', '555-0101', 'ada@example.org'),
    (1, 'Bruno Placeholder', '912-34-0002', '1978-09-30', '555-0102', 'bruno@example.org'),
    (1, 'Chiara Fixture',    '987-65-0003', '1990-01-05', '555-0103', 'chiara@example.org'),
    (2, 'Dov Example',       '999-01-0004', '2004-12-24', '555-0104', 'dov@example.org'),
    (2, 'Elif Sample',       '923-45-0005', '1955-07-18', '555-0105', 'elif@example.org'),
    (2, 'Femi Demo',         '934-56-0006', '1983-03-03', '555-0106', 'femi@example.org'),
    (3, 'Greta Mock',        '945-67-0007', '1999-11-11', '555-0107', 'greta@example.org'),
    (3, 'Hiro Dummy',        '956-78-0008', '1970-02-28', '555-0108', 'hiro@example.org');
CREATE TABLE public.visits (
    id         serial PRIMARY KEY,
    clinic_id  integer NOT NULL,
    patient_id integer NOT NULL REFERENCES public.patients (id),
    visited_on date NOT NULL,
    reason     text,
    diagnosis  text,
    provider   text
);
INSERT INTO public.visits (clinic_id, patient_id, visited_on, reason, diagnosis, provider) VALUES
    (1, 1, '2026-01-08', 'annual check-up',  'healthy',               'Dr. Nobody'),
    (1, 2, '2026-01-15', 'persistent cough', 'acute bronchitis',      'Dr. Nobody'),
    (1, 3, '2026-02-02', 'ankle pain',       'sprained ankle',        'Dr. Nemo'),
    (2, 4, '2026-02-10', 'follow-up',        'type 2 diabetes',       'Dr. Anon'),
    (2, 5, '2026-02-21', 'headaches',        'migraine',              'Dr. Anon'),
    (2, 6, '2026-03-04', 'blood pressure',   'hypertension',          'Dr. Anon'),
    (3, 7, '2026-03-12', 'rash',             'contact dermatitis',    'Dr. Nemo'),
    (3, 8, '2026-03-19', 'fatigue',          'iron deficiency',       'Dr. Nemo'),
    (1, 2, '2026-03-25', 'follow-up',        'resolved',              'Dr. Nobody');
CREATE TABLE public.prescriptions (
    id         serial PRIMARY KEY,
    clinic_id  integer NOT NULL,
    visit_id   integer NOT NULL REFERENCES public.visits (id),
    drug       text NOT NULL,
    dosage     text,
    refills    integer NOT NULL DEFAULT 0
);
INSERT INTO public.prescriptions (clinic_id, visit_id, drug, dosage, refills) VALUES
    (1, 2, 'amoxicillin', '500 mg three times a day', 0),
    (2, 4, 'metformin',   '500 mg twice a day',       5),
    (2, 5, 'sumatriptan', '50 mg as needed',          2),
    (2, 6, 'lisinopril',  '10 mg once a day',         5),
    (3, 8, 'ferrous sulfate', '325 mg once a day',    3);
CREATE TABLE public.billing (
    id                  serial PRIMARY KEY,
    clinic_id           integer NOT NULL,
    patient_id          integer NOT NULL REFERENCES public.patients (id),
    billed_on           date NOT NULL,
    amount              numeric(10, 2) NOT NULL,
    insurance_member_id text,
    paid                boolean NOT NULL DEFAULT false
);
INSERT INTO public.billing (clinic_id, patient_id, billed_on, amount, insurance_member_id, paid) VALUES
    (1, 1, '2026-01-08', 120.00, 'XQZ900000001', true),
    (1, 2, '2026-01-15',  95.50, 'XQZ900000002', true),
    (1, 3, '2026-02-02', 180.00, 'XQZ900000003', false),
    (2, 4, '2026-02-10', 140.00, 'XQZ900000004', true),
    (2, 5, '2026-02-21', 110.00, NULL,           false),
    (3, 8, '2026-03-19',  85.25, 'XQZ900000008', false);
CREATE POLICY same_clinic ON public.patients
    USING (clinic_id = nullif(current_setting('app.clinic_id', true), '')::integer);
CREATE POLICY same_clinic ON public.visits
    USING (clinic_id = nullif(current_setting('app.clinic_id', true), '')::integer);
CREATE POLICY same_clinic ON public.prescriptions
    USING (clinic_id = nullif(current_setting('app.clinic_id', true), '')::integer);
CREATE POLICY same_clinic ON public.billing
    USING (clinic_id = nullif(current_setting('app.clinic_id', true), '')::integer);
GRANT SELECT ON public.visits TO PUBLIC;
RESET ROLE;
";
