//! Whether a stored policy expression (`pg_policy.polqual` / `polwithcheck`
//! as `pg_node_tree` text) reads the row it judges.
//!
//! Why the node tree and not `pg_depend`: PostgreSQL 15 records a policy's
//! column dependencies there, but (verified) a whole-row reference
//! (`USING (t IS NOT NULL)`, `USING (f(t))`) records none, and a column read
//! inside a subquery over another scan of the same table
//! (`USING (EXISTS (SELECT 1 FROM t t2 WHERE t2.owner = current_user))`)
//! records the same dependency as a read of the row itself. The first would
//! fail a policy that reads the row, the second would pass one that does
//! not. The tree says which query level a column belongs to: in a policy
//! expression the only range table entry is the policy's table, so a `VAR`
//! whose `varlevelsup` equals the number of enclosing `QUERY` nodes reads
//! the row (any `varattno`: a column, 0 for the whole row, negative for a
//! system column). Every other `VAR` belongs to a subquery's own tables.
//!
//! The text format is `outfuncs.c`'s: `{NODE :field value …}`, with `{`,
//! `}`, `(`, `)`, `\` and whitespace inside names escaped by a backslash;
//! constants print as byte lists. Stable from PostgreSQL 13 to 18 for the
//! two fields read here.

/// Whether the expression reads the row at its own level; `None` when the
/// text is not a well-formed tree (the check then says `unknown`: neither
/// answer may be guessed, one would pass a vacuous policy, the other fail a
/// real one).
pub(super) fn reads_outer_row(tree: &str) -> Option<bool> {
    let bytes = tree.as_bytes();
    let mut stack: Vec<bool> = Vec::new(); // per open node: is it a QUERY
    let mut depth = 0usize; // enclosing QUERY nodes
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'{' => {
                let name = node_name(&bytes[i + 1..]);
                if name == b"VAR" {
                    if var_level(&bytes[i..])? == depth {
                        return Some(true);
                    }
                }
                let is_query = name == b"QUERY";
                depth += usize::from(is_query);
                stack.push(is_query);
            }
            b'}' => depth -= usize::from(stack.pop()?),
            _ => {}
        }
        i += 1;
    }
    stack.is_empty().then_some(false)
}

fn node_name(rest: &[u8]) -> &[u8] {
    let end = rest
        .iter()
        .position(|b| !b.is_ascii_alphanumeric() && *b != b'_')
        .unwrap_or(rest.len());
    &rest[..end]
}

/// `varlevelsup` of the `VAR` node starting at `node` (a VAR holds no
/// nested node, so its fields end at the first `}`).
fn var_level(node: &[u8]) -> Option<usize> {
    let end = node.iter().position(|b| *b == b'}')?;
    let text = std::str::from_utf8(&node[..end]).ok()?;
    let (_, after) = text.split_once(":varlevelsup ")?;
    after.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::reads_outer_row;

    // Trees as PostgreSQL 15 stores them (trimmed of fields the walker skips).
    const CONSTANT: &str = "{NULLTEST :arg {SQLVALUEFUNCTION :op 10 :type 19 :typmod -1 \
        :location 34} :nulltesttype 1 :argisrow false :location 47}";
    const COLUMN: &str = "{OPEXPR :opno 260 :args ({VAR :varno 1 :varattno 2 :vartype 25 \
        :varlevelsup 0 :varnosyn 1 :varattnosyn 2 :location 32} {SQLVALUEFUNCTION :op 10 \
        :type 19 :typmod -1 :location 40}) :location 38}";
    const WHOLE_ROW: &str = "{NULLTEST :arg {VAR :varno 1 :varattno 0 :vartype 16386 \
        :varlevelsup 0 :location 34} :nulltesttype 1 :argisrow true :location 36}";
    const SYSTEM_COLUMN: &str = "{OPEXPR :args ({VAR :varno 1 :varattno -2 :vartype 28 \
        :varlevelsup 0 :location 32} {CONST :consttype 25 :constvalue 4 [ 16 0 0 0 ]})}";
    /// `EXISTS (SELECT 1 FROM t t2 WHERE t2.owner = current_user)` on t.
    const SELF_SUBQUERY: &str = "{SUBLINK :subLinkType 0 :subselect {QUERY :commandType 1 \
        :rtable ({RANGETBLENTRY :alias {ALIAS :aliasname t2 :colnames <>} :relid 16386}) \
        :jointree {FROMEXPR :quals {OPEXPR :args ({VAR :varno 1 :varattno 2 :varlevelsup 0 \
        :location 60} {SQLVALUEFUNCTION :op 10})}} :targetList <>} :location 33}";
    /// `EXISTS (SELECT 1 FROM other o WHERE o.id = t.id)` on t.
    const CORRELATED: &str = "{SUBLINK :subLinkType 0 :subselect {QUERY :commandType 1 \
        :rtable ({RANGETBLENTRY :relid 16389}) :jointree {FROMEXPR :quals {OPEXPR :args \
        ({VAR :varno 1 :varattno 1 :varlevelsup 0 :location 69} {VAR :varno 1 :varattno 1 \
        :varlevelsup 1 :location 76})}} :targetList <>} :location 33}";
    /// `clinic IN (SELECT clinic FROM other)`: the row's column after the subquery closed.
    const AFTER_SUBQUERY: &str = "{SUBLINK :testexpr {OPEXPR :args ({VAR :varno 1 :varattno 3 \
        :varlevelsup 0} {PARAM :paramkind 2})} :subselect {QUERY :rtable ({RANGETBLENTRY \
        :relid 16389}) :targetList ({TARGETENTRY :expr {VAR :varno 1 :varattno 2 \
        :varlevelsup 0}})}}";
    /// An alias with escaped braces must not unbalance the walk.
    const ESCAPED_NAME: &str = "{SUBLINK :subselect {QUERY :rtable ({RANGETBLENTRY :alias \
        {ALIAS :aliasname a\\}b\\{c :colnames <>} :relid 1}) :jointree {FROMEXPR :quals {VAR \
        :varno 1 :varattno 1 :varlevelsup 0}}}}";

    #[test]
    fn row_reads_are_columns_whole_rows_and_system_columns_at_the_outer_level() {
        for tree in [COLUMN, WHOLE_ROW, SYSTEM_COLUMN, CORRELATED, AFTER_SUBQUERY] {
            assert_eq!(reads_outer_row(tree), Some(true), "{tree}");
        }
    }

    #[test]
    fn constants_and_other_scans_of_the_table_do_not_read_the_row() {
        for tree in [CONSTANT, SELF_SUBQUERY, ESCAPED_NAME] {
            assert_eq!(reads_outer_row(tree), Some(false), "{tree}");
        }
    }

    #[test]
    fn unreadable_trees_are_not_judged() {
        for tree in [
            "{VAR :varno 1",
            "{OPEXPR :args ({CONST}",
            "}",
            "{VAR :varno 1}",
        ] {
            assert_eq!(reads_outer_row(tree), None, "{tree}");
        }
    }
}
