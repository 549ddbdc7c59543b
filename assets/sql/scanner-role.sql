-- pgSafeguard: a least-privilege scanner role.
--
-- Run once by a superuser, with psql, in EVERY database you will scan (or connect to):
--
--   psql "host=... user=postgres dbname=postgres" \
--        -v scanner_role=pgsafeguard_scanner -f assets/sql/scanner-role.sql
--   psql "host=... user=postgres dbname=clinic" \
--        -v scanner_role=pgsafeguard_scanner -f assets/sql/scanner-role.sql
--
-- then give the role a password interactively, so that it never appears on a command line
-- or in the server log:
--
--   psql ... -c '\password pgsafeguard_scanner'
--
-- The script is idempotent: run it again after upgrading PostgreSQL, after creating a new
-- database, or to repair the grants. It works on PostgreSQL 13 to 18.
--
-- Why per database: roles and role memberships are cluster-wide, but GRANTs on the
-- catalog views and functions below and the `pgsafeguard` schema live in one database's
-- catalog. Part 1 (the role) is the same in every run; part 2 (grants and the function)
-- must be made in each database the scanner connects to, including the one given to
-- `pgsafeguard scan` and every database `--all-databases` visits.
--
-- psql variables (pass with -v name=value; all optional):
--   scanner_role              role name (default pgsafeguard_scanner)
--   scanner_password          set this password (plain text, or a SCRAM-SHA-256 verifier
--                             prepared elsewhere). Prefer \password afterwards: a password
--                             given here is visible in the process list of this machine.
--                             Statement logging is switched off for this session so the
--                             server log does not receive it.
--   scanner_valid_until       expiry of the password, e.g. 2027-06-30 (AUTH-012)
--   scanner_connection_limit  default 5; a scan holds at most two connections (AUTH-015)
--
-- What the scanner receives, and why:
--   pg_monitor, pg_read_all_settings   every setting with its source file and line, other
--                                      sessions' TLS state, pg_stat_archiver
--   pg_hba_file_rules                  the pg_hba.conf rules as the server parsed them
--   pg_ident_file_mappings (15+)       the pg_ident.conf maps
--   pg_file_settings                   configuration lines with errors or not applied
--   pgsafeguard.password_kinds()       per role: md5, scram, none or plain - never the
--                                      password verifier itself
--   pgsafeguard.stored_credentials()   which user mappings and subscriptions store a
--                                      password (AUTH-017) - never the password
--   a comment on the role              marks it as the documented scanner (PRIV-019)
-- What it does NOT receive: any access to pg_authid (it holds the password verifiers,
-- which are password-equivalent for md5 and can be attacked offline for SCRAM), table
-- contents (the optional PHI value sample, --sample-phi, needs SELECT on the tables: grant
-- that separately and only where you accept it), or any write privilege.

\set ON_ERROR_STOP on
\set QUIET on
\if :{?scanner_role}
\else
\set scanner_role pgsafeguard_scanner
\endif
\if :{?scanner_connection_limit}
\else
\set scanner_connection_limit 5
\endif

-- Refuse to run without superuser: the function below must be owned by one, and only a
-- superuser may grant access to pg_hba_file_rules.
DO $check$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'run assets/sql/scanner-role.sql as a superuser';
  END IF;
END
$check$;

-- Keep this session's statements (which may carry a password) out of the server log and
-- the audit trail. Needs superuser, which the script needs anyway.
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_error_statement = 'panic';
SET client_min_messages = 'warning';
-- A password given here is stored as SCRAM even where the server default is md5 (before 14).
SET password_encryption = 'scram-sha-256';
SELECT (SELECT count(*) FROM pg_catalog.pg_settings WHERE name = 'pgaudit.log') > 0
       AS pgsafeguard_has_pgaudit \gset
\if :pgsafeguard_has_pgaudit
SET pgaudit.log = 'none';
\endif

------------------------------------------------------------------------------------------
-- Part 1 (cluster-wide): the login role and its predefined roles.
------------------------------------------------------------------------------------------

-- Never demote an existing superuser by naming it here by mistake.
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles
               WHERE rolname = :'scanner_role' AND rolsuper) AS pgsafeguard_role_is_superuser,
       NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles
                   WHERE rolname = :'scanner_role') AS pgsafeguard_role_is_new \gset
\if :pgsafeguard_role_is_superuser
DO $check$
BEGIN
  RAISE EXCEPTION 'the scanner role names a superuser; choose another name with -v scanner_role=NAME';
END
$check$;
\endif
\if :pgsafeguard_role_is_new
CREATE ROLE :"scanner_role" LOGIN;
\endif

ALTER ROLE :"scanner_role" LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
  NOBYPASSRLS CONNECTION LIMIT :scanner_connection_limit;
\if :{?scanner_password}
ALTER ROLE :"scanner_role" PASSWORD :'scanner_password';
\endif
\if :{?scanner_valid_until}
ALTER ROLE :"scanner_role" VALID UNTIL :'scanner_valid_until';
\endif

-- pg_monitor includes pg_read_all_settings; it is named as well so that the grant stays
-- if an organisation trims pg_monitor's membership.
GRANT pg_monitor TO :"scanner_role";
GRANT pg_read_all_settings TO :"scanner_role";
-- pg_monitor lets the scanner read every session's query text (PRIV-019 fails other logins
-- for that); this comment marks the role as the documented scanner, PRIV-019's one exception.
-- Only a superuser or a role with CREATEROLE/ADMIN on it can set a role's comment.
COMMENT ON ROLE :"scanner_role" IS 'pgSafeguard scanner role (assets/sql/scanner-role.sql)';

------------------------------------------------------------------------------------------
-- Part 2 (this database): catalog views, their functions, and password_kinds().
------------------------------------------------------------------------------------------

SELECT current_database() AS pgsafeguard_database,
       current_setting('server_version_num')::int >= 150000 AS pgsafeguard_has_ident_view \gset

GRANT CONNECT ON DATABASE :"pgsafeguard_database" TO :"scanner_role";

-- A view checks its owner's rights on the function behind it, but these functions also
-- check the caller's EXECUTE right themselves, so both grants are needed.
GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO :"scanner_role";
GRANT SELECT ON pg_catalog.pg_hba_file_rules TO :"scanner_role";
GRANT EXECUTE ON FUNCTION pg_catalog.pg_show_all_file_settings() TO :"scanner_role";
GRANT SELECT ON pg_catalog.pg_file_settings TO :"scanner_role";
\if :pgsafeguard_has_ident_view
GRANT EXECUTE ON FUNCTION pg_catalog.pg_ident_file_mappings() TO :"scanner_role";
GRANT SELECT ON pg_catalog.pg_ident_file_mappings TO :"scanner_role";
\endif

-- A schema only superusers control: whoever owns it could replace the function.
CREATE SCHEMA IF NOT EXISTS pgsafeguard;
ALTER SCHEMA pgsafeguard OWNER TO CURRENT_USER;
REVOKE ALL ON SCHEMA pgsafeguard FROM PUBLIC;
GRANT USAGE ON SCHEMA pgsafeguard TO :"scanner_role";

-- Runs with its owner's (a superuser's) rights, so it can read pg_authid; it returns only
-- the kind of each role's password verifier. The search_path is pinned so that no object
-- a caller creates can stand in for a catalog. Every role is listed, login or not: a
-- NOLOGIN role keeps its verifier and may be given LOGIN later.
CREATE OR REPLACE FUNCTION pgsafeguard.password_kinds()
  RETURNS TABLE (rolname name, kind text)
  LANGUAGE sql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $function$
  SELECT a.rolname,
         CASE WHEN a.rolpassword IS NULL THEN 'none'
              WHEN a.rolpassword LIKE 'md5%' THEN 'md5'
              WHEN a.rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram'
              ELSE 'plain'
         END
    FROM pg_catalog.pg_authid AS a
   ORDER BY a.rolname
$function$;
ALTER FUNCTION pgsafeguard.password_kinds() OWNER TO CURRENT_USER;
COMMENT ON FUNCTION pgsafeguard.password_kinds() IS
  'pgSafeguard: the kind of each role''s password verifier (md5, scram, none, plain), never the verifier';
REVOKE ALL ON FUNCTION pgsafeguard.password_kinds() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgsafeguard.password_kinds() TO :"scanner_role";

-- Runs with its owner's (a superuser's) rights, so it sees every user mapping's options and
-- pg_subscription.subconninfo; it returns only whether a credential is stored (the names of
-- credential options, or a yes/no for a connection string), never a value. The patterns are
-- fixed here, not parameters: a caller-chosen pattern would let it guess a password piece by
-- piece. They are the same as in src/db/collect/outbound.rs (a unit test compares them).
CREATE OR REPLACE FUNCTION pgsafeguard.stored_credentials()
  RETURNS TABLE (kind text, name text, database text, role text,
                 credential_options text[], stores_password boolean)
  LANGUAGE sql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $function$
  SELECT 'user_mapping', s.srvname::text, current_database()::text,
         CASE WHEN m.umuser = 0 THEN NULL ELSE pg_get_userbyid(m.umuser)::text END,
         ARRAY(SELECT o.option_name FROM pg_options_to_table(m.umoptions) AS o
                WHERE o.option_name ~* '(pass(word|wd)|pwd|secret|token)' ORDER BY 1),
         NULL::boolean
    FROM pg_catalog.pg_user_mapping AS m
    JOIN pg_catalog.pg_foreign_server AS s ON s.oid = m.umserver
  UNION ALL
  SELECT 'subscription', s.subname::text, coalesce(d.datname::text, ''),
         pg_get_userbyid(s.subowner)::text, NULL::text[],
         coalesce(s.subconninfo ~* '(^|[\s?&])(ssl)?password\s*=|^\s*postgres(ql)?://[^/@?]*:[^/@?]*@', false)
    FROM pg_catalog.pg_subscription AS s
    LEFT JOIN pg_catalog.pg_database AS d ON d.oid = s.subdbid
$function$;
ALTER FUNCTION pgsafeguard.stored_credentials() OWNER TO CURRENT_USER;
COMMENT ON FUNCTION pgsafeguard.stored_credentials() IS
  'pgSafeguard: which user mappings and subscriptions store a password (option names or yes/no), never the value';
REVOKE ALL ON FUNCTION pgsafeguard.stored_credentials() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgsafeguard.stored_credentials() TO :"scanner_role";

\echo pgSafeguard scanner role :"scanner_role" is ready in database :"pgsafeguard_database"
