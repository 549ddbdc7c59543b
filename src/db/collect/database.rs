//! Per-database parts: relations and their columns, RLS policies, schemas,
//! default privileges, extensions, languages, functions and views with
//! literal encryption keys.
//!
//! These catalogs are readable by every role. Relations and columns are two
//! queries joined in Rust by oid (one row per column would repeat every
//! relation's ACL). ACLs come as `aclitem[]::text[]` and are parsed by
//! [`super::acl`]. Function bodies and view definitions never leave the
//! server: a regular expression there answers "literal key or not".

use super::acl::parse_acl;
use super::node_tree::reads_outer_row;
use super::part::{get, text_list, user_schema, DecodeError, Part, Staging};
use crate::model::snapshot::{
    Column, DatabaseFacts, DefaultAcl, Extension, Function, FunctionReads, Language, Policy,
    PolicyReadsRow, Relation, Schema,
};
use postgres_protocol::escape::escape_literal;
use std::collections::BTreeMap;
use tokio_postgres::Row;

/// All per-database parts. `relations` appears twice: its relations and its
/// columns, so a failure of either leaves `relations` unknown, never
/// silently column-less.
pub(super) fn parts(version: u32) -> Vec<Part> {
    vec![
        Part::new("relations", relations_sql(), store_relations),
        Part::new("relations", columns_sql(), store_columns),
        Part::new("policies", POLICIES, store_policies),
        Part::new("schemas", schemas_sql(), store_schemas),
        Part::new("default_acls", DEFAULT_ACLS, store_default_acls),
        Part::new("extensions", EXTENSIONS, store_extensions),
        Part::new("languages", LANGUAGES, store_languages),
        Part::new("functions", functions_sql(version), store_functions),
        Part::new(
            "views_with_literal_keys",
            views_with_literal_keys_sql(),
            store_views_with_literal_keys,
        ),
    ]
}

/// Attaches the columns to their relations. Without the columns the
/// relations are withheld (`None`): the columns query's gap explains why.
pub(super) fn assemble(staging: &mut Staging) -> DatabaseFacts {
    let mut facts = std::mem::take(&mut staging.database);
    match (facts.relations.as_mut(), staging.columns.take()) {
        (Some(relations), Some(mut columns)) => {
            for relation in relations.iter_mut() {
                relation.columns = columns.remove(&relation.oid).unwrap_or_default();
            }
        }
        (Some(_), None) => facts.relations = None,
        (None, _) => {}
    }
    facts
}

/// A call to a pgcrypto PGP function whose key (or, for `pgp_pub_decrypt`,
/// key password) is written in the text as a literal. `ARG` is one argument
/// without top-level commas (string literals and two levels of parentheses
/// allowed); `LIT` is the start of a string or dollar-quoted literal, bare or
/// inside `dearmor(…)`. PostgreSQL ARE syntax, matched case-insensitively.
fn literal_key_pattern() -> String {
    const ARG: &str = r"(?:[^,()']|'[^']*'|\((?:[^()]|\([^()]*\))*\))*";
    const LIT: &str = r"(?:[Ee]?'|\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$|dearmor\s*\(\s*[Ee]?')";
    format!(
        r"pgp_(?:sym|pub)_(?:en|de)crypt(?:_bytea)?\s*\(\s*{ARG},\s*{LIT}|pgp_pub_decrypt(?:_bytea)?\s*\(\s*{ARG},\s*{ARG},\s*{LIT}"
    )
}

fn relations_sql() -> String {
    format!(
        "SELECT c.oid, n.nspname::text AS schema, c.relname::text AS name, \
         c.relkind::text AS kind, pg_catalog.pg_get_userbyid(c.relowner)::text AS owner, \
         c.relrowsecurity, c.relforcerowsecurity, c.relispartition, \
         pn.nspname::text || '.' || p.relname::text AS parent, \
         coalesce(c.relacl, pg_catalog.acldefault('r', c.relowner))::text[] AS acl, \
         c.reltuples::float8 AS reltuples, \
         CASE WHEN c.relkind = 'v' THEN coalesce((SELECT o.option_value::bool \
           FROM pg_catalog.pg_options_to_table(c.reloptions) o \
           WHERE o.option_name = 'security_invoker'), false) END AS security_invoker, \
         CASE WHEN c.relkind = 'v' THEN ARRAY(SELECT DISTINCT \
           dn.nspname::text || '.' || dc.relname::text \
           FROM pg_catalog.pg_rewrite rw \
           JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass \
             AND d.objid = rw.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass \
             AND d.deptype = 'n' AND d.refobjid <> c.oid \
           JOIN pg_catalog.pg_class dc ON dc.oid = d.refobjid \
           JOIN pg_catalog.pg_namespace dn ON dn.oid = dc.relnamespace \
           WHERE rw.ev_class = c.oid ORDER BY 1) END AS reads \
         FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid AND i.inhseqno = 1 \
         LEFT JOIN pg_catalog.pg_class p ON p.oid = i.inhparent \
         LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace \
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {} \
         ORDER BY n.nspname, c.relname",
        user_schema("n.nspname")
    )
}

fn store_relations(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let relations = rows
        .iter()
        .map(|row| {
            Ok(Relation {
                oid: get(row, "oid")?,
                schema: get(row, "schema")?,
                name: get(row, "name")?,
                kind: get(row, "kind")?,
                owner: get(row, "owner")?,
                rls_enabled: get(row, "relrowsecurity")?,
                rls_forced: get(row, "relforcerowsecurity")?,
                parent: get(row, "parent")?,
                is_partition: get(row, "relispartition")?,
                acl: parse_acl(get(row, "acl")?)?,
                columns: Vec::new(),
                estimated_rows: get(row, "reltuples")?,
                security_invoker: get(row, "security_invoker")?,
                reads: get(row, "reads")?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    staging.database.relations = Some(relations);
    Ok(())
}

fn columns_sql() -> String {
    format!(
        "SELECT a.attrelid AS oid, a.attname::text AS name, \
         pg_catalog.format_type(a.atttypid, a.atttypmod) AS type_name, \
         a.attacl::text[] AS acl \
         FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE a.attnum > 0 AND NOT a.attisdropped \
         AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {} \
         ORDER BY a.attrelid, a.attnum",
        user_schema("n.nspname")
    )
}

fn store_columns(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut columns: BTreeMap<u32, Vec<Column>> = BTreeMap::new();
    for row in rows {
        columns.entry(get(row, "oid")?).or_default().push(Column {
            name: get(row, "name")?,
            type_name: get(row, "type_name")?,
            acl: parse_acl(get(row, "acl")?)?,
        });
    }
    staging.columns = Some(columns);
    Ok(())
}

/// Role oid 0 in `polroles` is PUBLIC. The expressions also come as node
/// trees, read here for whether they read the row ([`node_tree`]); the trees
/// themselves are not kept.
const POLICIES: &str = "SELECT n.nspname::text AS schema, c.relname::text AS table_name, \
     p.polname::text AS name, p.polpermissive, \
     CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' \
                   WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command, \
     ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'PUBLIC' \
                       ELSE pg_catalog.pg_get_userbyid(r.oid)::text END \
           FROM unnest(p.polroles) AS r(oid) ORDER BY 1) AS roles, \
     pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS using_expr, \
     pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS with_check, \
     p.polqual::text AS using_tree, p.polwithcheck::text AS check_tree \
     FROM pg_catalog.pg_policy p \
     JOIN pg_catalog.pg_class c ON c.oid = p.polrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     ORDER BY n.nspname, c.relname, p.polname";

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

fn store_policies(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let policies = rows
        .iter()
        .map(|row| {
            Ok(Policy {
                schema: get(row, "schema")?,
                table: get(row, "table_name")?,
                name: get(row, "name")?,
                permissive: get(row, "polpermissive")?,
                command: get(row, "command")?,
                roles: sorted(text_list(row, "roles")?),
                using: get(row, "using_expr")?,
                with_check: get(row, "with_check")?,
                reads_row: reads_row(get(row, "using_tree")?, get(row, "check_tree")?),
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    staging.database.policies = Some(policies);
    Ok(())
}

/// What each expression reads; `None` when either tree is unreadable.
fn reads_row(using: Option<String>, check: Option<String>) -> Option<PolicyReadsRow> {
    let reads = |tree: Option<String>| tree.map_or(Some(false), |t| reads_outer_row(&t));
    Some(PolicyReadsRow {
        using: reads(using)?,
        with_check: reads(check)?,
    })
}

/// pg_catalog and information_schema are kept: their grants matter too.
fn schemas_sql() -> String {
    "SELECT nspname::text AS name, pg_catalog.pg_get_userbyid(nspowner)::text AS owner, \
     coalesce(nspacl, pg_catalog.acldefault('n', nspowner))::text[] AS acl \
     FROM pg_catalog.pg_namespace WHERE nspname !~ '^pg_(toast|temp_)' ORDER BY nspname"
        .to_string()
}

fn store_schemas(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let schemas = rows
        .iter()
        .map(|row| {
            Ok(Schema {
                name: get(row, "name")?,
                owner: get(row, "owner")?,
                acl: parse_acl(get(row, "acl")?)?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    staging.database.schemas = Some(schemas);
    Ok(())
}

const DEFAULT_ACLS: &str = "SELECT pg_catalog.pg_get_userbyid(d.defaclrole)::text AS role, \
     n.nspname::text AS schema, d.defaclobjtype::text AS object_type, \
     d.defaclacl::text[] AS acl \
     FROM pg_catalog.pg_default_acl d \
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace \
     ORDER BY 1, 2 NULLS FIRST, 3";

fn store_default_acls(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut acls = rows
        .iter()
        .map(|row| {
            Ok(DefaultAcl {
                role: get(row, "role")?,
                schema: get(row, "schema")?,
                object_type: get(row, "object_type")?,
                acl: parse_acl(get(row, "acl")?)?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    acls.sort_by(|a, b| {
        (&a.role, &a.schema, &a.object_type).cmp(&(&b.role, &b.schema, &b.object_type))
    });
    staging.database.default_acls = Some(acls);
    Ok(())
}

const EXTENSIONS: &str = "SELECT e.extname::text AS name, e.extversion AS version, \
     n.nspname::text AS schema FROM pg_catalog.pg_extension e \
     JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace ORDER BY e.extname";

fn store_extensions(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let extensions = rows
        .iter()
        .map(|row| {
            Ok(Extension {
                name: get(row, "name")?,
                version: get(row, "version")?,
                schema: get(row, "schema")?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    staging.database.extensions = Some(extensions);
    Ok(())
}

const LANGUAGES: &str = "SELECT lanname::text AS name, lanpltrusted AS trusted, \
     pg_catalog.pg_get_userbyid(lanowner)::text AS owner, \
     coalesce(lanacl, pg_catalog.acldefault('l', lanowner))::text[] AS acl \
     FROM pg_catalog.pg_language ORDER BY lanname";

fn store_languages(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let languages = rows
        .iter()
        .map(|row| {
            Ok(Language {
                name: get(row, "name")?,
                trusted: get(row, "trusted")?,
                owner: get(row, "owner")?,
                acl: parse_acl(get(row, "acl")?)?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    staging.database.languages = Some(languages);
    Ok(())
}

/// From PostgreSQL 14 a SQL-standard body (`BEGIN ATOMIC`) lives in
/// `prosqlbody`, not `prosrc`; it is deparsed on the server for the match.
///
/// For SECURITY DEFINER functions, what the body reads ([`definer_reads_sql`]).
fn functions_sql(version: u32) -> String {
    let body = if version >= 140_000 {
        "CASE WHEN p.prosqlbody IS NULL THEN p.prosrc \
         ELSE pg_catalog.pg_get_function_sqlbody(p.oid) END"
    } else {
        "p.prosrc"
    };
    format!(
        "SELECT n.nspname::text AS schema, \
         p.proname::text || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')' AS signature, \
         pg_catalog.pg_get_userbyid(p.proowner)::text AS owner, l.lanname::text AS language, \
         p.prosecdef, p.proconfig, \
         coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))::text[] AS acl, \
         EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                 WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid \
                 AND d.deptype = 'e') AS from_extension, \
         coalesce(({body}) ~* {pattern}, false) AS literal_key_in_body, \
         {reads} \
         FROM pg_catalog.pg_proc p \
         JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
         JOIN pg_catalog.pg_language l ON l.oid = p.prolang \
         WHERE {schemas} ORDER BY 1, 2",
        pattern = escape_literal(&literal_key_pattern()),
        reads = definer_reads_sql(version, body),
        schemas = user_schema("n.nspname"),
    )
}

/// Three columns, NULL unless the function is SECURITY DEFINER (few are, so
/// the per-function subqueries stay cheap):
/// - `reads`: user relations the body reads. A SQL-standard body has its
///   dependencies in `pg_depend` (exact). A string body has none, so a
///   relation counts when its name appears anywhere in the body text
///   (case-insensitive substring): that may list too many, never misses a
///   relation the text names. Only names leave the server, never the body.
/// - `reads_exact`: whether `reads` came from `pg_depend`.
/// - `reads_unseen`: why the body may read more than it names: another
///   language (its text is not SQL), dynamic SQL (`EXECUTE`, whose text is
///   built at run time), or calls of other user functions (not followed; a
///   SECURITY INVOKER callee reads with the definer's rights).
fn definer_reads_sql(version: u32, body: &str) -> String {
    let (exact, names) = if version >= 140_000 {
        ("p.prosqlbody IS NOT NULL", "p.prosqlbody IS NULL")
    } else {
        ("false", "true")
    };
    let depends_on = |class: &str, column: &str| {
        format!(
            "EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
             WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid \
             AND d.refclassid = 'pg_catalog.{class}'::regclass AND d.refobjid = {column})"
        )
    };
    let named = |name: &str| format!("strpos(lower(p.prosrc), lower({name}::text)) > 0");
    format!(
        "CASE WHEN p.prosecdef THEN ARRAY( \
           SELECT rn.nspname::text || '.' || rc.relname::text \
           FROM pg_catalog.pg_class rc \
           JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace \
           WHERE rc.relkind IN ('r', 'p', 'v', 'm', 'f') AND {rel_schemas} \
           AND CASE WHEN {exact} THEN {rel_dep} ELSE {rel_named} END \
           ORDER BY 1) END AS reads, \
         CASE WHEN p.prosecdef THEN {exact} END AS reads_exact, \
         CASE WHEN NOT p.prosecdef THEN NULL \
           WHEN l.lanname NOT IN ('sql', 'plpgsql') \
             THEN 'is written in ' || l.lanname::text || \
               ', whose reads the catalog does not show' \
           WHEN ({body}) ~* '\\mexecute\\M' THEN 'runs dynamic SQL (EXECUTE)' \
           ELSE (SELECT 'calls ' || string_agg(DISTINCT qn.nspname::text || '.' || \
                   q.proname::text, ', ') || ' (what they read is not followed)' \
                 FROM pg_catalog.pg_proc q \
                 JOIN pg_catalog.pg_namespace qn ON qn.oid = q.pronamespace \
                 WHERE q.oid <> p.oid AND {fn_schemas} \
                 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e \
                   WHERE e.classid = 'pg_catalog.pg_proc'::regclass AND e.objid = q.oid \
                   AND e.deptype = 'e') \
                 AND CASE WHEN {names} THEN {fn_named} ELSE {fn_dep} END) \
         END AS reads_unseen",
        rel_schemas = user_schema("rn.nspname"),
        rel_dep = depends_on("pg_class", "rc.oid"),
        rel_named = named("rc.relname"),
        fn_schemas = user_schema("qn.nspname"),
        fn_dep = depends_on("pg_proc", "q.oid"),
        fn_named = named("q.proname"),
    )
}

fn store_functions(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut functions = rows
        .iter()
        .map(|row| {
            Ok(Function {
                schema: get(row, "schema")?,
                signature: get(row, "signature")?,
                owner: get(row, "owner")?,
                language: get(row, "language")?,
                security_definer: get(row, "prosecdef")?,
                config: text_list(row, "proconfig")?,
                acl: parse_acl(get(row, "acl")?)?,
                from_extension: get(row, "from_extension")?,
                literal_key_in_body: get(row, "literal_key_in_body")?,
                reads: definer_reads(row)?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    // Byte order, whatever the database's collation.
    functions.sort_by(|a, b| (&a.schema, &a.signature).cmp(&(&b.schema, &b.signature)));
    staging.database.functions = Some(functions);
    Ok(())
}

fn definer_reads(row: &Row) -> Result<Option<FunctionReads>, DecodeError> {
    let Some(mut relations) = get::<Option<Vec<String>>>(row, "reads")? else {
        return Ok(None);
    };
    relations.sort(); // byte order, whatever the collation
    Ok(Some(FunctionReads {
        relations,
        from_dependencies: get::<Option<bool>>(row, "reads_exact")?.unwrap_or(false),
        unseen: get(row, "reads_unseen")?,
    }))
}

/// Only views that depend on a pgcrypto PGP function are deparsed.
fn views_with_literal_keys_sql() -> String {
    format!(
        "SELECT n.nspname::text || '.' || c.relname::text AS name \
         FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('v', 'm') AND {schemas} \
         AND CASE WHEN EXISTS ( \
               SELECT 1 FROM pg_catalog.pg_rewrite rw \
               JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass \
                    AND d.objid = rw.oid AND d.refclassid = 'pg_catalog.pg_proc'::regclass \
               JOIN pg_catalog.pg_proc f ON f.oid = d.refobjid \
               WHERE rw.ev_class = c.oid AND f.proname ~ '^pgp_(sym|pub)_') \
             THEN pg_catalog.pg_get_viewdef(c.oid) ~* {pattern} ELSE false END \
         ORDER BY 1",
        pattern = escape_literal(&literal_key_pattern()),
        schemas = user_schema("n.nspname"),
    )
}

fn store_views_with_literal_keys(rows: &[Row], staging: &mut Staging) -> Result<(), DecodeError> {
    let mut views = rows
        .iter()
        .map(|row| get(row, "name"))
        .collect::<Result<Vec<String>, DecodeError>>()?;
    views.sort();
    staging.database.views_with_literal_keys = Some(views);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::snapshot::Relation;

    fn relation(oid: u32) -> Relation {
        Relation {
            oid,
            name: format!("t{oid}"),
            ..Relation::default()
        }
    }

    fn column(name: &str) -> Column {
        Column {
            name: name.into(),
            type_name: "text".into(),
            acl: vec![],
        }
    }

    #[test]
    fn columns_join_their_relation_by_oid() {
        let mut staging = Staging::default();
        staging.database.relations = Some(vec![relation(1), relation(2)]);
        staging.columns = Some(BTreeMap::from([(2, vec![column("ssn"), column("dob")])]));
        let facts = assemble(&mut staging);
        let relations = facts.relations.unwrap();
        assert!(relations[0].columns.is_empty());
        let names: Vec<&str> = relations[1]
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["ssn", "dob"]);
    }

    #[test]
    fn relations_without_columns_are_withheld() {
        let mut staging = Staging::default();
        staging.database.relations = Some(vec![relation(1)]);
        assert_eq!(assemble(&mut staging).relations, None);
    }

    #[test]
    fn every_part_has_a_snapshot_field_name() {
        let names: Vec<&str> = parts(150_000).iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            [
                "relations",
                "relations",
                "policies",
                "schemas",
                "default_acls",
                "extensions",
                "languages",
                "functions",
                "views_with_literal_keys",
            ]
        );
    }

    #[test]
    fn sql_standard_bodies_only_from_14() {
        assert!(functions_sql(140_000).contains("pg_get_function_sqlbody"));
        assert!(!functions_sql(130_000).contains("pg_get_function_sqlbody"));
    }

    #[test]
    fn function_bodies_never_leave_the_server() {
        // prosrc appears only inside the boolean match, never as a column.
        let sql = functions_sql(150_000);
        assert!(!sql.contains("p.prosrc AS"));
        assert!(!sql.contains("p.prosrc,"));
    }
}
