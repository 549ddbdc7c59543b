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
//! Permissive policies are ORed, and so are the branches of a top-level OR
//! in one expression: `current_user = 'admin' OR clinic_id = …` admits every
//! row to the sessions where its first branch holds, exactly as a separate
//! permissive policy with that branch would. So an OR is judged branch by
//! branch (nested ORs too); a branch that is constant false or NULL admits
//! nothing and is skipped.
//!
//! The text format is `outfuncs.c`'s: `{NODE :field value …}`, with `{`,
//! `}`, `(`, `)`, `\` and whitespace inside names escaped by a backslash;
//! constants print as byte lists. Stable from PostgreSQL 13 to 18 for the
//! two fields read here.

/// Whether every branch of the expression (the whole expression, or each
/// branch of a top-level OR) reads the row at its own level; `None` when the
/// text is not a well-formed tree (the check then says `unknown`: neither
/// answer may be guessed, one would pass a vacuous policy, the other fail a
/// real one).
pub(super) fn reads_outer_row(tree: &str) -> Option<bool> {
    let Some(branches) = or_branches(tree.trim()) else {
        return reads_anywhere(tree);
    };
    for branch in branches? {
        if !admits_nothing(branch) && !reads_outer_row(branch)? {
            return Some(false);
        }
    }
    Some(true)
}

/// The argument nodes of a top-level `OR`: `None` when the tree is not one,
/// `Some(None)` when its argument list is malformed.
fn or_branches(tree: &str) -> Option<Option<Vec<&str>>> {
    let args = tree.strip_prefix("{BOOLEXPR :boolop or :args (")?;
    let bytes = args.as_bytes();
    let mut branches = Vec::new();
    let mut i = 0;
    loop {
        match bytes.get(i) {
            Some(b' ') => i += 1,
            Some(b'{') => {
                let Some(len) = node_len(&bytes[i..]) else {
                    return Some(None);
                };
                branches.push(&args[i..i + len]);
                i += len;
            }
            Some(b')') => return Some(Some(branches)),
            _ => return Some(None),
        }
    }
}

/// The length of the node that starts `text` (at its `{`), through its `}`.
fn node_len(text: &[u8]) -> Option<usize> {
    let mut open = 0usize;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'\\' => i += 1,
            b'{' => open += 1,
            b'}' => {
                open -= 1;
                if open == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A boolean constant that is false or NULL.
fn admits_nothing(branch: &str) -> bool {
    branch.starts_with("{CONST :consttype 16 ")
        && (branch.contains(":constisnull true") || branch.contains(":constvalue 1 [ 0 "))
}

/// Whether any `VAR` of the expression's own level appears in it.
fn reads_anywhere(tree: &str) -> Option<bool> {
    let bytes = tree.as_bytes();
    let mut stack: Vec<bool> = Vec::new(); // per open node: is it a QUERY
    let mut depth = 0usize; // enclosing QUERY nodes
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'{' => {
                let name = node_name(&bytes[i + 1..]);
                if name == b"VAR" && var_level(&bytes[i..])? == depth {
                    return Some(true);
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

    /// `current_user = 'admin' OR owner = current_user OR (clinic = 1 AND true)`.
    const ADMIN_OR_OWNER: &str = "{BOOLEXPR :boolop or :args ({OPEXPR :opno 93 :args \
        ({SQLVALUEFUNCTION :op 10} {CONST :consttype 19 :constisnull false :constvalue 64 \
        [ 97 100 109 105 110 0 ]}) :location 44} {OPEXPR :opno 260 :args ({VAR :varno 1 \
        :varattno 2 :varlevelsup 0} {SQLVALUEFUNCTION :op 10}) :location 63} {BOOLEXPR \
        :boolop and :args ({OPEXPR :args ({VAR :varno 1 :varattno 3 :varlevelsup 0} {CONST \
        :consttype 23 :constvalue 4 [ 1 0 0 0 ]})} {CONST :consttype 16 :constisnull false \
        :constvalue 1 [ 1 0 0 0 0 0 0 0 ]})}) :location 54}";
    /// `owner = current_user OR (clinic = 1 AND true)`: every branch reads the row.
    const OWNER_OR_CLINIC: &str = "{BOOLEXPR :boolop or :args ({OPEXPR :args ({VAR :varno 1 \
        :varattno 2 :varlevelsup 0} {SQLVALUEFUNCTION :op 10})} {BOOLEXPR :boolop and :args \
        ({OPEXPR :args ({VAR :varno 1 :varattno 3 :varlevelsup 0} {CONST :consttype 23 \
        :constvalue 4 [ 1 0 0 0 ]})} {CONST :consttype 16 :constisnull false :constvalue 1 \
        [ 1 0 0 0 0 0 0 0 ]})})}";
    /// `false OR owner = current_user`: the constant branch admits nothing.
    const FALSE_OR_OWNER: &str = "{BOOLEXPR :boolop or :args ({CONST :consttype 16 \
        :constisnull false :location 1 :constvalue 1 [ 0 0 0 0 0 0 0 0 ]} {OPEXPR :args ({VAR \
        :varno 1 :varattno 2 :varlevelsup 0} {SQLVALUEFUNCTION :op 10})})}";

    #[test]
    fn each_or_branch_must_read_the_row() {
        assert_eq!(reads_outer_row(ADMIN_OR_OWNER), Some(false));
        assert_eq!(reads_outer_row(OWNER_OR_CLINIC), Some(true));
        assert_eq!(reads_outer_row(FALSE_OR_OWNER), Some(true));
        assert_eq!(
            reads_outer_row("{BOOLEXPR :boolop or :args ({VAR :varno 1"),
            None
        );
    }

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
